/**
 * Writes every stable-link status picture in every format into the folder given (build.mjs: dist/status):
 * `node --import tsx scripts/status-images.ts dist/status`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMATS } from '../common/task.js';
import { STATUS_IMAGES, statusImageFile, type StatusImageName } from '../common/statusImages.js';
import { drawStatusImage } from '../worker/compose/statusImage.js';

export async function writeStatusImages(dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const name of Object.keys(STATUS_IMAGES) as StatusImageName[]) {
    for (const format of FORMATS) {
      writeFileSync(join(dir, statusImageFile(name, format)), await drawStatusImage(STATUS_IMAGES[name], format));
      n++;
    }
  }
  return n;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx scripts/status-images.ts <folder>');
    process.exit(2);
  }
  void writeStatusImages(dir).then((n) => console.log(`status images: ${n} in ${dir}`));
}
