/**
 * `npm run demo`: the fake Letterboxd (test/helpers/fakeLetterboxd.ts) with its invented members, and
 * the app pointed at it with its own data folder (./data-demo), so everything works with no network.
 * Stops both on Ctrl-C; the server stops its workers.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeLetterboxd } from '../test/helpers/fakeLetterboxd.js';

const root = fileURLToPath(new URL('..', import.meta.url));

process.title = 'moviemosaic-demo';
const fake = await startFakeLetterboxd({ now: new Date() });
const members = [...fake.members.values()];

const built = join(root, 'dist', 'server', 'main.js');
const server = spawn(process.execPath, existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'server', 'main.ts')], {
  cwd: root,
  env: {
    ...process.env,
    DATA_DIR: process.env.DATA_DIR ?? join(root, 'data-demo'),
    ...fake.env,
    LETTERBOXD_SPACING_MS: '0',
  },
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
});
server.on('disconnect', () => {});

console.log(
  [
    '',
    `moviemosaic demo: a fake Letterboxd at ${fake.url} (posters from ${fake.imageHost}), data in ./data-demo.`,
    'Invented members to try:',
    ...members.map((m) => `  ${m.username.padEnd(8)} ${m.displayName} (${m.diary.length} diary entries, ${m.films.length} films)`),
    'The server prints the address to open below. Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

// Same protocol as server/main.ts: the first stop request is passed on by letting go of the IPC
// channel; a signal more than a second later (not the same Ctrl-C arriving by two routes) is passed on
// as itself, which stops the server at once. The fake stays up until the server and its workers, which
// may still be fetching posters, have exited.
let firstAt = 0;
const stop = (signal?: NodeJS.Signals) => {
  if (!firstAt) {
    firstAt = Date.now();
    if (server.connected) server.disconnect();
  } else if (signal && Date.now() - firstAt >= 1000 && server.exitCode === null) {
    server.kill(signal);
  }
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
if (process.send) process.on('disconnect', () => stop());

server.on('exit', async (code) => {
  await fake.close();
  process.exit(code ?? 1);
});
