/**
 * Real Chromium that trusts a given CA, the way a device does after /setup: Chromium on Linux reads
 * user-added trust anchors from the NSS database at `$HOME/.pki/nssdb`, so each browser gets a
 * throw-away HOME whose database trusts the CA ("C,,": a CA trusted to identify websites), and a
 * throw-away profile. Nothing touches the real HOME. Reused by the full-app HTTPS test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CERTUTIL = process.env.CERTUTIL_PATH ?? 'certutil';

/**
 * Makes `homeDir/.pki/nssdb` (empty password) and adds `caPem` to it as a trusted CA for websites.
 * `homeDir` is the folder given to the browser as HOME (not its profile folder: Chromium reads NSS
 * from HOME). Throws with the way to install certutil when it is missing.
 */
export function trustCaInProfile(homeDir: string, caPem: string, nickname = 'moviemosaic'): void {
  const db = join(homeDir, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true, mode: 0o700 });
  const caFile = join(homeDir, '.pki', `${nickname}-ca.crt`);
  writeFileSync(caFile, caPem);
  const certutil = (args: string[]) => {
    try {
      execFileSync(CERTUTIL, ['-d', `sql:${db}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT')
        throw new Error('certutil not found: install libnss3-tools (apt-get install libnss3-tools) or set CERTUTIL_PATH.');
      throw new Error(`certutil ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
    }
  };
  if (!existsSync(join(db, 'cert9.db'))) certutil(['-N', '--empty-password']);
  certutil(['-A', '-t', 'C,,', '-n', nickname, '-i', caFile]);
}

export interface TrustingBrowser {
  context: BrowserContext;
  page: Page;
  /** The browser's HOME (holds .pki/nssdb) and profile folders, both removed by `close()`. */
  home: string;
  profile: string;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** The CA to trust; null launches with an empty trust database (a device that skipped /setup). */
  caPem: string | null;
  /** Names resolved to 127.0.0.1, e.g. a LAN-style name the certificate carries. */
  hostMap?: string[];
  args?: string[];
  viewport?: { width: number; height: number };
}

/**
 * Debian's Chromium through playwright-core, in a persistent context (an incognito one reports
 * `in-incognito` as an installability error) with its own HOME whose NSS database trusts `caPem`.
 */
export async function launchTrustingBrowser(opts: LaunchOptions): Promise<TrustingBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH.`);
  const root = mkdtempSync(join(tmpdir(), 'mm-chromium-tls-'));
  const home = join(root, 'home');
  const profile = join(root, 'profile');
  mkdirSync(home);
  mkdirSync(profile);
  try {
    if (opts.caPem !== null) trustCaInProfile(home, opts.caPem);
    const args = [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      ...(opts.hostMap?.length ? [`--host-resolver-rules=${opts.hostMap.map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`] : []),
      ...(opts.args ?? []),
    ];
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args,
      env: { ...process.env, HOME: home },
      viewport: opts.viewport ?? { width: 1100, height: 800 },
    });
    const problems: string[] = [];
    // Init scripts run through the DevTools protocol, outside the page's CSP.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const watch = (page: Page) => {
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    };
    context.on('page', watch);
    const page = context.pages()[0] ?? (await context.newPage());
    watch(page);
    return {
      context,
      page,
      home,
      profile,
      problems,
      async close() {
        await context.close().catch(() => undefined);
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}
