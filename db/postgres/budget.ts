/**
 * RESULTS_MB on PostgreSQL: one byte budget over results, imports and diary archives, least recently
 * used out first, as db/sqlite/budget.ts. Runs inside the completing transaction (or its own).
 */
import type pg from 'pg';
import type { BudgetKeep, Eviction } from '../sqlite/budget.js';

interface Candidate {
  kind: 'result' | 'import' | 'archive';
  key: string;
  bytes: number;
}

/**
 * Serialises budget passes across servers and workers: two completing transactions evicting at once
 * would each count the other's rows as still held.
 */
const BUDGET_LOCK = 7_210_531_003;

export async function heldBytes(c: pg.ClientBase | pg.Pool): Promise<number> {
  return (
    await c.query<{ bytes: number }>(`
    SELECT ((SELECT coalesce(sum(bytes), 0) FROM results) + (SELECT coalesce(sum(bytes), 0) FROM member_imports)
           + (SELECT coalesce(sum(bytes), 0) FROM archive_members))::bigint AS bytes`)
  ).rows[0].bytes;
}

/** Evicts least recently used results, imports and archives until they fit `budgetBytes`. */
export async function enforceBudget(c: pg.ClientBase, budgetBytes: number, keep: BudgetKeep = {}): Promise<Eviction> {
  if (!Number.isFinite(budgetBytes)) return { results: 0, imports: 0, archives: 0, freedBytes: 0, heldBytes: await heldBytes(c) };
  await c.query('SELECT pg_advisory_xact_lock($1)', [BUDGET_LOCK]);
  const out: Eviction = { results: 0, imports: 0, archives: 0, freedBytes: 0, heldBytes: await heldBytes(c) };
  while (out.heldBytes > budgetBytes) {
    // Oldest use first; ties (same millisecond) go results, then imports, then archives, then by key.
    const { rows } = await c.query<Candidate>(
      `
      SELECT kind, key, bytes FROM (
        SELECT 'result' AS kind, id AS key, bytes, viewed_at AS used FROM results WHERE id <> $1
        UNION ALL
        SELECT 'import', m.username, m.bytes,
               greatest(m.imported_at, coalesce((SELECT max(r.viewed_at) FROM tasks t JOIN results r ON r.id = t.id
                                                 WHERE t.username = m.username), 0))
        FROM member_imports m WHERE m.username <> $2
        UNION ALL
        SELECT 'archive', username, bytes, used_at FROM archive_members WHERE bytes > 0) x
      ORDER BY used, kind DESC, key COLLATE "C" LIMIT 32`,
      [keep.result ?? '', keep.importOf ?? ''],
    );
    if (rows.length === 0) break;
    for (const x of rows) {
      if (out.heldBytes <= budgetBytes) break;
      if (x.kind === 'result') {
        // A result goes with its task, as pruning does: the task's page then says it was cleaned up.
        await c.query(`DELETE FROM tasks WHERE id = $1`, [x.key]);
        out.results++;
      } else if (x.kind === 'import') {
        await c.query(`DELETE FROM member_imports WHERE username = $1`, [x.key]);
        out.imports++;
      } else {
        await c.query(`DELETE FROM archive_members WHERE username = $1`, [x.key]);
        out.archives++;
      }
      out.freedBytes += x.bytes;
      out.heldBytes -= x.bytes;
    }
  }
  return out;
}
