/**
 * RESULTS_MB: one byte budget for finished mosaics and members' imported exports together. Over it,
 * the least recently used go first: a result by its last view (`/result`, `/mosaic`), an import by its
 * upload or the last view of any of that member's mosaics, whichever is later. This replaces keeping
 * every member's newest 20 results for ever, which let one address fill the disk.
 */
import type { Db } from './open.js';

export interface BudgetKeep {
  /** A result never evicted by this pass (the one just stored: its client is about to fetch it). */
  result?: string;
  /** An import never evicted by this pass (the one just uploaded). */
  importOf?: string;
}

export interface Eviction {
  results: number;
  imports: number;
  freedBytes: number;
  /** Bytes held after the pass (may stay over the budget by what `keep` holds). */
  heldBytes: number;
}

interface Candidate {
  kind: 'result' | 'import';
  key: string;
  bytes: number;
}

export type Budget = ReturnType<typeof createBudget>;

/** The budget over one connection; call `enforce` inside (or as) a write transaction. */
export function createBudget(db: Db, budgetBytes: number) {
  const s = {
    held: db.prepare<[], { bytes: number }>(`
      SELECT (SELECT coalesce(sum(bytes), 0) FROM results) + (SELECT coalesce(sum(bytes), 0) FROM member_imports) AS bytes`),
    // Oldest use first; ties (same millisecond) go results before imports, then by key for a stable order.
    oldest: db.prepare<[string, string, number], Candidate>(`
      SELECT kind, key, bytes FROM (
        SELECT 'result' AS kind, id AS key, bytes, viewed_at AS used FROM results WHERE id != ?
        UNION ALL
        SELECT 'import', m.username, m.bytes,
               max(m.imported_at, coalesce((SELECT max(r.viewed_at) FROM tasks t JOIN results r ON r.id = t.id
                                            WHERE t.username = m.username), 0))
        FROM member_imports m WHERE m.username != ?)
      ORDER BY used, kind DESC, key LIMIT ?`),
    // A result goes with its task, as pruning does: the task's page then says it was cleaned up.
    deleteResult: db.prepare<[string]>(`DELETE FROM tasks WHERE id = ?`),
    deleteImport: db.prepare<[string]>(`DELETE FROM member_imports WHERE username = ?`),
  };
  return {
    budgetBytes,
    /** Bytes results and imports hold now. */
    heldBytes(): number {
      return s.held.get()!.bytes;
    },
    /** Evicts least recently used results and imports until they fit the budget. */
    enforce(keep: BudgetKeep = {}): Eviction {
      const out: Eviction = { results: 0, imports: 0, freedBytes: 0, heldBytes: s.held.get()!.bytes };
      while (out.heldBytes > budgetBytes) {
        const batch = s.oldest.all(keep.result ?? '', keep.importOf ?? '', 32);
        if (batch.length === 0) break;
        for (const c of batch) {
          if (out.heldBytes <= budgetBytes) break;
          if (c.kind === 'result') {
            s.deleteResult.run(c.key);
            out.results++;
          } else {
            s.deleteImport.run(c.key);
            out.imports++;
          }
          out.freedBytes += c.bytes;
          out.heldBytes -= c.bytes;
        }
      }
      return out;
    },
  };
}
