/** Child process for the supervisor tests: supervises test workers, prints their PIDs, waits to be killed. */
import { createSupervisor } from '../../server/supervisor.js';
import { silentLogger } from '../../common/log.js';

const [dataDir, count] = process.argv.slice(2);
const supervisor = createSupervisor({
  count: Number(count),
  args: ['--import', 'tsx', 'test/helpers/testWorker.ts'],
  cwd: process.cwd(),
  env: { ...process.env, DATA_DIR: dataDir },
  log: silentLogger,
});
let started = 0;
supervisor.onStart(() => {
  if (++started === Number(count)) console.log(`PIDS ${supervisor.pids().join(',')}`);
});
supervisor.start();
