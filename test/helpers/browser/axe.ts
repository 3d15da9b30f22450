/**
 * axe-core in the real page: WCAG 2.0/2.1 A and AA rules over the whole document, through shadow
 * roots. The script is evaluated over the DevTools protocol, which the page's CSP does not govern
 * (the app's own CSP allows no injected script, as it should).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** The page's WCAG 2.1 A/AA violations, one line each ("rule: target — summary"). */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            ctx: unknown,
            opts: unknown,
          ): Promise<{ violations: { id: string; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }>;
        };
      }
    ).axe;
    const { violations } = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return violations.flatMap((v) =>
      v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)} — ${v.help}. ${n.failureSummary ?? ''}`.trim()),
    );
  }, WCAG_TAGS);
}

/** Every violation of `page` in light and dark, as `state (scheme): violation` lines. */
export async function axeInBothSchemes(page: Page, state: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const v of await axeViolations(page)) out.push(`${state} (${scheme}): ${v}`);
    }
  } finally {
    await page.emulateMedia({ colorScheme: null });
  }
  return out;
}
