import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addDays, covers, coversWholeDiary, history, mergeWindow, type FeedWindow, type Segment } from '../../common/archive.js';

const at = (day: string, hour = 12) => Date.parse(`${day}T${String(hour).padStart(2, '0')}:00:00Z`);
const entry = (id: string, day: string) => ({ viewingId: id, publishedAt: at(day) });
const known = (...entries: { viewingId: string; publishedAt: number | null }[]) =>
  new Map(entries.map((e) => [e.viewingId, e.publishedAt]));

test('addDays crosses months, years and leap days', () => {
  assert.is(addDays('2026-02-28', 1), '2026-03-01');
  assert.is(addDays('2028-02-28', 1), '2028-02-29');
  assert.is(addDays('2026-01-01', -1), '2025-12-31');
});

test('a first full window covers the days after its oldest entry, up to the read', () => {
  const w: FeedWindow = {
    entries: [entry('3', '2026-03-03'), entry('2', '2026-02-20'), entry('1', '2026-02-10')],
    completeAfter: '2026-02-10',
    day: '2026-03-03',
  };
  const out = mergeWindow([], new Map(), w);
  assert.equal(out.segments, [{ from: '2026-02-11', to: '2026-03-03' }]);
  assert.ok(out.overlapped);
  assert.equal(out.deleted, []);
});

test('a window that is not full covers the whole diary and drops whatever it lacks', () => {
  const prev: Segment[] = [{ from: '2026-01-05', to: '2026-02-01' }];
  const out = mergeWindow(prev, known(entry('1', '2026-01-10'), entry('2', '2026-01-20')), {
    entries: [entry('1', '2026-01-10')],
    completeAfter: null,
    day: '2026-02-02',
  });
  assert.equal(out.segments, [{ from: null, to: '2026-02-02' }]);
  assert.equal(out.deleted, ['2']);
  assert.ok(coversWholeDiary(out.segments, '2026-02-02'));
});

test('a window sequence: overlapping, then gapped, then one with a deletion', () => {
  // Poll 1 (3 Mar): the feed reaches back to 10 Feb.
  let segs = mergeWindow([], new Map(), {
    entries: [entry('a', '2026-03-01'), entry('b', '2026-02-10')],
    completeAfter: '2026-02-10',
    day: '2026-03-03',
  }).segments;
  let archive = known(entry('a', '2026-03-01'), entry('b', '2026-02-10'));
  // Poll 2 (9 Mar): still holds "a": overlapping, coverage runs on.
  let out = mergeWindow(segs, archive, {
    entries: [entry('c', '2026-03-08'), entry('a', '2026-03-01')],
    completeAfter: '2026-03-01',
    day: '2026-03-09',
  });
  assert.ok(out.overlapped);
  assert.equal(out.segments, [{ from: '2026-02-11', to: '2026-03-09' }]);
  assert.equal(out.deleted, [], 'b fell off the end of the window: older than its oldest entry, so not deleted');
  segs = out.segments;
  archive = known(entry('a', '2026-03-01'), entry('b', '2026-02-10'), entry('c', '2026-03-08'));
  // Poll 3 (1 Apr): a full window of entries all new: whatever was logged between may be lost.
  out = mergeWindow(segs, archive, {
    entries: [entry('e', '2026-03-31'), entry('d', '2026-03-20')],
    completeAfter: '2026-03-20',
    day: '2026-04-01',
  });
  assert.not.ok(out.overlapped);
  assert.equal(out.segments, [
    { from: '2026-02-11', to: '2026-03-08' },
    { from: '2026-03-21', to: '2026-04-01' },
  ]);
  assert.equal(history(out.segments), {
    since: '2026-03-21',
    wholeDiary: false,
    earliest: '2026-02-11',
    gaps: [{ from: '2026-03-09', to: '2026-03-20' }],
  });
  segs = out.segments;
  archive = known(
    entry('a', '2026-03-01'),
    entry('b', '2026-02-10'),
    entry('c', '2026-03-08'),
    entry('d', '2026-03-20'),
    entry('e', '2026-03-31'),
  );
  // Poll 4 (5 Apr): "e" vanished while the older "d" is still there: deleted on Letterboxd.
  out = mergeWindow(segs, archive, {
    entries: [entry('f', '2026-04-04'), entry('d', '2026-03-20')],
    completeAfter: '2026-03-20',
    day: '2026-04-05',
  });
  assert.ok(out.overlapped);
  assert.equal(out.deleted, ['e']);
  assert.equal(out.segments, [
    { from: '2026-02-11', to: '2026-03-08' },
    { from: '2026-03-21', to: '2026-04-05' },
  ]);
  assert.ok(covers(out.segments, '2026-03-21', '2026-04-05'));
  assert.not.ok(covers(out.segments, '2026-03-01', '2026-03-31'), 'the gap is not covered');
  assert.ok(covers(out.segments, '2026-02-11', '2026-03-08'));
});

test("an entry published in the same second as the window's oldest is not taken for deleted", () => {
  const out = mergeWindow([{ from: '2026-01-02', to: '2026-01-05' }], known(entry('x', '2026-01-03'), entry('y', '2026-01-03')), {
    entries: [entry('z', '2026-01-06'), entry('y', '2026-01-03')],
    completeAfter: '2026-01-03',
    day: '2026-01-06',
  });
  assert.equal(out.deleted, []);
});

test('an overlapping window reaching further back than the archive extends it backwards', () => {
  const out = mergeWindow([{ from: '2026-03-21', to: '2026-04-01' }], known(entry('d', '2026-03-20')), {
    entries: [entry('d', '2026-03-20'), entry('old', '2026-03-01')],
    completeAfter: '2026-03-01',
    day: '2026-04-02',
  });
  assert.equal(out.segments, [{ from: '2026-03-02', to: '2026-04-02' }]);
});

test('a gap window whose oldest entry is from today starts an empty segment the next read extends', () => {
  let out = mergeWindow([{ from: '2026-01-01', to: '2026-01-10' }], known(entry('a', '2026-01-09')), {
    entries: [entry('n', '2026-01-20')],
    completeAfter: '2026-01-20',
    day: '2026-01-20',
  });
  assert.equal(out.segments, [
    { from: '2026-01-01', to: '2026-01-09' },
    { from: '2026-01-21', to: '2026-01-20' },
  ]);
  assert.not.ok(covers(out.segments, '2026-01-20', '2026-01-20'));
  out = mergeWindow(out.segments, known(entry('n', '2026-01-20')), {
    entries: [entry('m', '2026-01-25'), entry('n', '2026-01-20')],
    completeAfter: '2026-01-20',
    day: '2026-01-26',
  });
  assert.equal(out.segments[1], { from: '2026-01-21', to: '2026-01-26' });
});

test('history of nothing kept, and of a whole diary', () => {
  assert.equal(history([]), { since: null, wholeDiary: false, earliest: null, gaps: [] });
  assert.equal(history([{ from: null, to: '2026-01-01' }]), { since: null, wholeDiary: true, earliest: null, gaps: [] });
});

test.run();
