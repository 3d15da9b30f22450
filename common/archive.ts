/**
 * The diary archive's window logic, pure (no SQL, no clock): how one read of a member's feed (a
 * "window") changes what the archive holds and which watched days it covers. db/archive.ts stores the
 * outcome; the server turns coverage into "history kept since" (browser-safe, no node: imports).
 *
 * Why windows can be chained: a feed holds every diary entry published after its oldest entry. When a
 * new window still holds an entry the archive already had (published before the previous read), every
 * entry published since the previous read is in it: nothing was missed. A full window that shares no
 * entry with the archive may have missed entries published in between: a gap. A window that is not
 * full holds the member's whole diary.
 *
 * Days are `YYYY-MM-DD` watched dates. A gap is placed where the missed entries were published, from
 * the day of the last read that overlapped to the new window's oldest day: a viewing logged during a
 * gap but back-dated to before it is the one thing a gap can also hide elsewhere.
 */

/** Watched days the archive holds every viewing of: `from` (null: the diary's beginning) to `to`, inclusive. */
export interface Segment {
  from: string | null;
  to: string;
}

/** A hole in the coverage between two segments, inclusive days. */
export interface Gap {
  from: string;
  to: string;
}

/** What the merge needs of one entry of a window. */
export interface WindowEntry {
  viewingId: string;
  /** When Letterboxd published it (ms), or null when the feed did not say. */
  publishedAt: number | null;
}

export interface FeedWindow {
  /** The window's diary entries. */
  entries: readonly WindowEntry[];
  /**
   * Every viewing watched after this day is in the window; null: the window holds the whole diary
   * (worker/sources/rss.ts decides, from whether the feed is full).
   */
  completeAfter: string | null;
  /** The day of the read (YYYY-MM-DD). */
  day: string;
}

export interface MergeOutcome {
  segments: Segment[];
  /** Archived viewings the window shows were deleted on Letterboxd. */
  deleted: string[];
  /** False when the window shared no entry with the archive and was full: a gap was marked. */
  overlapped: boolean;
}

/** `day` moved by `n` days (calendar arithmetic in UTC: no time zone can shift it). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The UTC calendar day of `ms`. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const before = (a: string | null, b: string | null) => (a === null ? b !== null : b !== null && a < b);

/** Sorted by start, and segments that touch or overlap made one. */
function normalize(segments: readonly Segment[]): Segment[] {
  const sorted = [...segments].sort((a, b) => (before(a.from, b.from) ? -1 : before(b.from, a.from) ? 1 : 0));
  const out: Segment[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && (s.from === null || s.from <= addDays(last.to, 1))) {
      if (s.to > last.to) last.to = s.to;
    } else {
      out.push({ ...s });
    }
  }
  return out;
}

/**
 * Merges a window into the archive's coverage. `known` maps the archive's viewing ids to when they
 * were published. Entries that vanished from a window while older ones are still in it were deleted
 * (or re-logged) on Letterboxd; a window that is not full shows the whole diary, so anything it lacks
 * is gone.
 */
export function mergeWindow(segments: readonly Segment[], known: ReadonlyMap<string, number | null>, w: FeedWindow): MergeOutcome {
  const inWindow = new Set(w.entries.map((e) => e.viewingId));
  let oldest: number | null = null;
  for (const e of w.entries) if (e.publishedAt !== null && (oldest === null || e.publishedAt < oldest)) oldest = e.publishedAt;
  const deleted: string[] = [];
  for (const [id, publishedAt] of known) {
    if (inWindow.has(id)) continue;
    // Strictly newer than the window's oldest: an entry published in the same second may have been cut off.
    if (w.completeAfter === null || (oldest !== null && publishedAt !== null && publishedAt > oldest)) deleted.push(id);
  }

  const fresh: Segment = { from: w.completeAfter === null ? null : addDays(w.completeAfter, 1), to: w.day };
  const overlapped = w.completeAfter === null || segments.length === 0 || w.entries.some((e) => known.has(e.viewingId));
  if (segments.length === 0) return { segments: [fresh], deleted, overlapped };
  if (overlapped) {
    const last = segments[segments.length - 1];
    const joined: Segment = { from: before(fresh.from, last.from) ? fresh.from : last.from, to: fresh.to > last.to ? fresh.to : last.to };
    return { segments: normalize([...segments.slice(0, -1), joined]), deleted, overlapped };
  }
  // A gap: from the last read's day (only partly covered) to the window's oldest day.
  const lastTo = segments[segments.length - 1].to;
  const c = w.completeAfter!;
  const gapFrom = c < lastTo ? c : lastTo;
  const gapTo = c < lastTo ? lastTo : c;
  const kept: Segment[] = [];
  for (const s of segments) {
    if (s.from !== null && s.from >= gapFrom) continue;
    kept.push({ from: s.from, to: s.to < gapFrom ? s.to : addDays(gapFrom, -1) });
  }
  // May start after it ends (a window whose oldest entry is from today): the next overlapping read extends it.
  kept.push({ from: addDays(gapTo, 1), to: w.day });
  return { segments: kept, deleted, overlapped };
}

/** Whether the segments hold every viewing watched from `first` to `last` (inclusive). */
export function covers(segments: readonly Segment[], first: string, last: string): boolean {
  return segments.some((s) => (s.from === null || s.from <= first) && s.to >= last);
}

/** Whether the segments hold the whole diary, from its beginning to `last`. */
export function coversWholeDiary(segments: readonly Segment[], last: string): boolean {
  return segments.some((s) => s.from === null && s.to >= last);
}

export interface History {
  /** The start of continuous coverage up to the latest read; null with `wholeDiary` (or nothing kept). */
  since: string | null;
  /** The archive holds the member's whole diary, from its first entry. */
  wholeDiary: boolean;
  /** The earliest day kept at all (before gaps), null when from the beginning or nothing is kept. */
  earliest: string | null;
  gaps: Gap[];
}

/** "History kept since": the start of the last segment, with the holes before it. */
export function history(segments: readonly Segment[]): History {
  if (segments.length === 0) return { since: null, wholeDiary: false, earliest: null, gaps: [] };
  const last = segments[segments.length - 1];
  const gaps: Gap[] = [];
  for (let i = 1; i < segments.length; i++) {
    gaps.push({ from: addDays(segments[i - 1].to, 1), to: addDays(segments[i].from!, -1) });
  }
  return { since: last.from, wholeDiary: last.from === null, earliest: segments[0].from, gaps };
}
