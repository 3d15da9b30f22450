/**
 * Looking at the app from the test: queries through its shadow roots, waits on page conditions (an
 * image decoded, the progress bar at a value), the socket frames the page received, and screenshots
 * at phone and desktop widths for a person to look at (test-output/screenshots/, gitignored).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ServerMessage } from '../../../common/protocol.js';
import type { Task } from '../../../common/task.js';
import { ROOT } from '../processes.js';

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');
/** A task id in a URL. */
export const ID = '[0-9a-f-]{36}';

declare global {
  interface Window {
    /** Test helper (init script): the elements matching the last selector, each step inside the previous one's shadow root. */
    mmQueryAll?: (path: string[]) => Element[];
    /** Set by a test on a page; a reload (a new document) loses it. */
    mmSameDocument?: boolean;
  }
}

/** Installs `window.mmQueryAll` in every page of the context (init scripts run outside the page's CSP). */
export async function installPageHelpers(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    window.mmQueryAll = (path) => {
      let root: ParentNode = document;
      for (const sel of path.slice(0, -1)) {
        const el = root.querySelector(sel);
        if (!el) return [];
        root = el.shadowRoot ?? el;
      }
      return [...root.querySelectorAll(path[path.length - 1])];
    };
  });
}

/** Path to the mosaic image on `/user/...`. */
export const MOSAIC_IMG = ['mm-app', 'page-user', 'mm-mosaic-view', 'img'];
/** Path to the thumbnails of "On this device" on `/`. */
export const DEVICE_THUMBS = ['mm-app', 'page-home', 'mm-mosaic-list', 'img'];

/** Waits until `count` images at `path` (at least one) have loaded and decoded. */
export async function waitForImages(page: Page, path: string[], count = 1): Promise<void> {
  await page.waitForFunction(
    ({ path, count }) => {
      const imgs = (window.mmQueryAll?.(path) ?? []) as HTMLImageElement[];
      return imgs.length === count && imgs.every((img) => img.complete && img.naturalWidth > 0);
    },
    { path, count },
  );
}

/** Waits until the progress page's bar counts `total` and shows at least `done`; returns its value. */
export async function waitForProgress(page: Page, total: number, done: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ total, done }) => {
      const bar = window.mmQueryAll?.(['mm-app', 'page-task', 'mm-task-progress', 'progress'])[0] as HTMLProgressElement | undefined;
      // An object: a bare 0 would read as "not yet".
      return bar && bar.max === total && bar.value >= done ? { value: bar.value } : null;
    },
    { total, done },
  );
  return ((await handle.jsonValue()) as { value: number }).value;
}

/** The socket frames a page receives, parsed, with the socket's URL. */
export interface SocketLog {
  urls: string[];
  frames: { url: string; message: ServerMessage }[];
}

export function watchSockets(page: Page): SocketLog {
  const log: SocketLog = { urls: [], frames: [] };
  page.on('websocket', (ws) => {
    log.urls.push(ws.url());
    ws.on('framereceived', (f) => {
      try {
        log.frames.push({ url: ws.url(), message: JSON.parse(String(f.payload)) as ServerMessage });
      } catch {
        // not JSON: not ours to check
      }
    });
  });
  return log;
}

/** The task snapshots the socket delivered for `taskId`, in order. */
export function taskFrames(log: SocketLog, taskId: string): { url: string; seq: number; task: Task }[] {
  return log.frames.flatMap(({ url, message: m }) =>
    m.type === 'task' && m.task.id === taskId ? [{ url, seq: m.seq, task: m.task }] : [],
  );
}

/**
 * Saves `name-phone.png` (360×740) and `name-desktop.png` (1280×800), full page, and returns how wide
 * the page was at phone width (more than 360 means it scrolls sideways). Leaves the desktop viewport.
 */
export async function screenshots(page: Page, name: string): Promise<{ phoneScrollWidth: number }> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.setViewportSize(PHONE);
  const phoneScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true, animations: 'disabled' });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true, animations: 'disabled' });
  return { phoneScrollWidth };
}
