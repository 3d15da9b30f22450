/**
 * RESULTS_MB: one byte budget for finished mosaics, members' imported exports and the diary archive
 * kept from their feeds, together. Over it, the least recently used go first: a result by its last
 * view (`/result`, `/mosaic`), an import by its upload or the last view of any of that member's
 * mosaics, whichever is later, a member's archive by the last mosaic made for them (evicting it stops
 * following them, as "stop" does). This replaces keeping every member's newest 20 results for ever,
 * which let one address fill the disk.
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
  archives: number;
  freedBytes: number;
  /** Bytes held after the pass (may stay over the budget by what `keep` holds). */
  heldBytes: number;
}

interface Candidate {
  kind: 'result' | 'import' | 'archive';
  key: string;
  bytes: number;
}

export type Budget = ReturnType<typeof createBudget>;

/** The budget over one connection; call `enforce` inside (or as) a write transaction. */
export function createBudget(db: Db, budgetBytes: number) {
  const s = {
    held: db.prepare<[], { bytes: number }>(`
      SELECT (SELECT coalesce(sum(bytes), 0) FROM results) + (SELECT coalesce(sum(bytes), 0) FROM member_imports)
             + (SELECT coalesce(sum(bytes), 0) FROM archive_members) AS bytes`),
    // Oldest use first; ties (same millisecond) go results, then imports, then archives, then by key.
    oldest: db.prepare<[string, string, number], Candidate>(`
      SELECT kind, key, bytes FROM (
        SELECT 'result' AS kind, id AS key, bytes, viewed_at AS used FROM results WHERE id != ?
        UNION ALL
        SELECT 'import', m.username, m.bytes,
               max(m.imported_at, coalesce((SELECT max(r.viewed_at) FROM tasks t JOIN results r ON r.id = t.id
                                            WHERE t.username = m.username), 0))
        FROM member_imports m WHERE m.username != ?
        UNION ALL
        SELECT 'archive', username, bytes, used_at FROM archive_members WHERE bytes > 0)
      ORDER BY used, kind DESC, key LIMIT ?`),
    // A result goes with its task, as pruning does: the task's page then says it was cleaned up.
    deleteResult: db.prepare<[string]>(`DELETE FROM tasks WHERE id = ?`),
    deleteImport: db.prepare<[string]>(`DELETE FROM member_imports WHERE username = ?`),
    // The member's entries go with it; without a followed member its poll chain ends (worker/pollFeed.ts).
    deleteArchive: db.prepare<[string]>(`DELETE FROM archive_members WHERE username = ?`),
  };
  return {
    budgetBytes,
    /** Bytes results, imports and archives hold now. */
    heldBytes(): number {
      return s.held.get()!.bytes;
    },
    /** Evicts least recently used results, imports and archives until they fit the budget. */
    enforce(keep: BudgetKeep = {}): Eviction {
      const out: Eviction = { results: 0, imports: 0, archives: 0, freedBytes: 0, heldBytes: s.held.get()!.bytes };
      while (out.heldBytes > budgetBytes) {
        const batch = s.oldest.all(keep.result ?? '', keep.importOf ?? '', 32);
        if (batch.length === 0) break;
        for (const c of batch) {
          if (out.heldBytes <= budgetBytes) break;
          if (c.kind === 'result') {
            s.deleteResult.run(c.key);
            out.results++;
          } else if (c.kind === 'import') {
            s.deleteImport.run(c.key);
            out.imports++;
          } else {
            s.deleteArchive.run(c.key);
            out.archives++;
          }
          out.freedBytes += c.bytes;
          out.heldBytes -= c.bytes;
        }
      }
      return out;
    },
  };
}
