/**
 * A real worker process (worker/main.ts's wiring) whose `create_mosaic` stands in for the real one:
 * the stages and progress writes of a mosaic, then a JPEG of realistic size (noise, ~SOAK_RESULT_KB),
 * so a soak of thousands of tasks exercises the queue, the feed and the database, not Letterboxd.
 */
import sharp from 'sharp';
import { runWorker } from '../../../worker/main.js';
import { systemClock } from '../../../common/clock.js';
import type { Action } from '../../../worker/loop.js';
import { testActions } from '../testActions.js';

const kb = Number(process.env.SOAK_RESULT_KB ?? 60);
const side = Math.max(16, Math.round(Math.sqrt((kb * 1024) / 0.9)));
let seed = process.pid;
const noise = Buffer.alloc(side * side * 3, 0).map(() => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff);
const image = await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
  .jpeg({ quality: 60 })
  .toBuffer();

const stubMosaic: Action = async ({ task, signal, progress }) => {
  const steps = 4;
  progress('collecting', null, null, 'Collecting data');
  await systemClock.sleep(5, signal);
  for (let i = 1; i <= steps; i++) {
    await systemClock.sleep(5, signal);
    progress('downloading', i, steps, `Downloading posters: ${i} of ${steps}`);
  }
  progress('building', null, null, 'Building mosaic');
  progress('saving', null, null, 'Saving mosaic');
  return {
    image,
    contentType: 'image/jpeg',
    width: side,
    height: side,
    films: [{ title: `A film for ${task.username}`, year: 2024, rating: 4, slug: null, watchedDate: null }],
    partial: false,
    note: null,
  };
};

runWorker(() => ({ ...testActions, create_mosaic: stubMosaic })).catch((err) => {
  console.error(err);
  process.exit(1);
});
