/** The collaborators pages need, created once in main.ts and passed down as a property. */
import type { Api } from './api.js';
import type { LiveClient } from './live.js';
import type { Router } from './router.js';
import type { MosaicStore } from './store.js';

export interface Services {
  api: Api;
  live: LiveClient;
  store: MosaicStore;
  router: Router;
  /** ms since the epoch; a dependency so a test can pin time. */
  now(): number;
}
