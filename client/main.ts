/** The app's entry: wires the services, puts the theme on the document and starts the shell. */
import { createApi } from './api.js';
import { LiveClient, socketUrl } from './live.js';
import { Router } from './router.js';
import { loadPage } from './page-code.js';
import { openMosaicStore } from './store.js';
import { adoptTheme } from './styles/theme.js';
import type { Services } from './services.js';
import './components/mm-app.js';

adoptTheme();

const live = new LiveClient({ url: socketUrl(location), createSocket: (url) => new WebSocket(url) });
const services: Services = {
  api: createApi(),
  live,
  store: openMosaicStore(),
  router: new Router(window),
  now: () => Date.now(),
};

// A phone that wakes up or gets its network back should not wait out a long backoff.
window.addEventListener('online', () => live.reconnectNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') live.reconnectNow();
});

// A direct visit to a page in its own chunk: the server's preload header has that chunk on its way
// already, so the first render waits for it and shows the page, not a "Loading…" frame before it (a
// chunk that fails is mm-app's to explain).
await loadPage(services.router.current.route.name).catch(() => undefined);

const app = document.querySelector('mm-app') ?? document.body.appendChild(document.createElement('mm-app'));
app.services = services;

// The service worker code loads after the first render and only where it can work.
if ('serviceWorker' in navigator && window.isSecureContext) {
  const start = () =>
    import('./pwa.js')
      .then(({ registerServiceWorker }) => registerServiceWorker({ onUpdateReady: (apply) => (app.applyUpdate = apply) }))
      .catch(() => undefined);
  if (document.readyState === 'complete') void start();
  else window.addEventListener('load', () => void start(), { once: true });
}
