/** The actions this worker can run, keyed by `tasks.action`. */
import type { ActionsFactory } from './main.js';

export const createProductionActions: ActionsFactory = () => ({});
