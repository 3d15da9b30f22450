/** A real worker process running the test actions (same wiring as worker/main.ts). */
import { runWorker } from '../../worker/main.js';
import { testActions } from './testActions.js';

runWorker(() => testActions).catch((err) => {
  console.error(err);
  process.exit(1);
});
