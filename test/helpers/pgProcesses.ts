/**
 * Server and worker processes on one database of a throwaway PostgreSQL cluster (test/helpers/postgres.ts),
 * as the production recipe runs them (README: PostgreSQL), for the suites in test/queue/: start them,
 * read what they said, and tear everything down (children by their PIDs, the folder, the cluster).
 */
import { openPostgres, type PostgresStorage } from '../../db/postgres/index.js';
import type { PgCluster } from './postgres.js';
import { spawnTs, waitFor, type Child } from './processes.js';
import { tmpDir } from './tmp.js';

export function pgProcesses(cluster: PgCluster | null) {
  const children: Child[] = [];
  const data = tmpDir();
  let storage: PostgresStorage | null = null;
  return {
    children,
    /** A fresh database, migrated, and this process's storage on it. */
    async open(name: string): Promise<{ url: string; storage: PostgresStorage }> {
      const url = cluster!.createDatabase(name);
      storage = await openPostgres(url);
      return { url, storage };
    },
    /** A server process (`WORKERS=0`: it only serves) on an OS-chosen port; resolves to that port. */
    async server(url: string): Promise<{ child: Child; port: number }> {
      const child = spawnTs('server/main.ts', { DATA_DIR: data.dir, DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', WORKERS: '0' });
      children.push(child);
      const port = await waitFor(
        () => /http:\/\/localhost:(\d+)\//.exec(child.output())?.[1],
        30_000,
        `a server to listen:\n${child.output()}`,
      );
      return { child, port: Number(port) };
    },
    /** A real worker process running the test actions (test/helpers/testWorker.ts). */
    worker(url: string, env: Record<string, string>): Child {
      const child = spawnTs('test/helpers/testWorker.ts', { DATA_DIR: data.dir, DATABASE_URL: url, ...env });
      children.push(child);
      return child;
    },
    /** Each process's exit status and last words, for a failure message. */
    outputs(): string {
      return children
        .map(
          (c) =>
            `process ${c.proc.pid} (exit ${c.proc.exitCode ?? c.proc.signalCode ?? 'running'}) said:\n${c.output().slice(-1500) || '(nothing)'}`,
        )
        .join('\n');
    },
    async close(): Promise<void> {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => c.exited));
      await storage?.close();
      data.cleanup();
      cluster?.stop();
    },
  };
}
