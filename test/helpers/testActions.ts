/** Actions for queue tests: they exercise the loop without Letterboxd or images. */
import type { Action } from '../../worker/loop.js';
import { systemClock } from '../../common/clock.js';

interface StepParams {
  steps?: number;
  stepMs?: number;
}

function stepsAction(by: string): Action {
  return async ({ task, signal, progress }) => {
    const p = JSON.parse(task.paramsJson) as StepParams;
    const steps = p.steps ?? 5;
    for (let i = 1; i <= steps; i++) {
      await systemClock.sleep(p.stepMs ?? 10, signal);
      progress('building', i, steps, `Step ${i} of ${steps}${by}`);
    }
    return {
      image: Buffer.from(`result of ${task.id}${by}`),
      contentType: 'text/plain',
      width: 1,
      height: 1,
      films: [],
      partial: false,
      note: null,
    };
  };
}

export const testActions: Record<string, Action> = {
  noop: async () => {},
  /** `steps` progress writes `stepMs` apart, then a tiny result. */
  steps: stepsAction(''),
  /**
   * `steps` that name the process running them: each progress message and the result end "by pid N",
   * so a test tells a killed or stopped worker's writes from its successor's.
   */
  stamped: stepsAction(` by pid ${process.pid}`),
  /** Kills its own process: the poison task. */
  crash: async () => {
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  },
  throws: async () => {
    throw new Error('boom');
  },
  /** Waits for its abort signal and ignores it (a non-cooperative action). */
  stubborn: async () => new Promise(() => {}),
};
