/**
 * Service worker registration (workbox-window) and the "update available" flow. Loaded lazily after
 * the first render so it never weighs on the initial bundle.
 */
import { Workbox } from 'workbox-window';

export interface PwaHooks {
  /** A new version is installed and waiting; call `apply` to switch to it (reloads the page). */
  onUpdateReady(apply: () => void): void;
}

const UPDATE_CHECK_MS = 60 * 60 * 1000;

/** Registers `/sw.js` when the browser allows it (secure context); resolves false when it does not. */
export async function registerServiceWorker(hooks: PwaHooks): Promise<boolean> {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return false;
  const wb = new Workbox('/sw.js', { scope: '/' });
  // The first install claims the page (sw.ts) and fires controllerchange too: that one is no update.
  const hadController = navigator.serviceWorker.controller !== null;

  wb.addEventListener('waiting', () => {
    hooks.onUpdateReady(() => wb.messageSkipWaiting());
  });
  // Reload once the new worker controls the page, so the reload gets the new shell. This also
  // follows an update accepted in another tab: old code would otherwise run against a new shell.
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController || reloading) return;
    reloading = true;
    window.location.reload();
  });

  try {
    await wb.register();
  } catch {
    return false;
  }
  // A Pi-hosted app may stay open on a phone for days: look for a new version now and then.
  const check = () => void wb.update().catch(() => undefined);
  setInterval(check, UPDATE_CHECK_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  return true;
}
