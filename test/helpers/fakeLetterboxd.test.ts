/**
 * The fake Letterboxd's built-in members hold together at any "now": the dates `npm run test:dates`
 * runs the suite at (the 1st, the 4th and the last day of a month, 1 January, both DST days in
 * Europe/London), in that zone. What the suite relies on: nothing logged in the future, the feed's
 * order (by log time) the same as the diary's (newest watched first), "this month" full.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultMembers, feedItems, sortDiary, type FakeMember } from './fakeLetterboxd.js';

// Node applies a TZ set at run time to every Date made afterwards.
process.env.TZ = 'Europe/London';

const pad2 = (n: number) => String(n).padStart(2, '0');
const localDay = (d: Date) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;

const DATES: [string, Date][] = [
  ['five minutes into the 1st', new Date(2026, 11, 1, 0, 5)],
  ['the 4th', new Date(2026, 11, 4, 12, 0)],
  ['the last day of a month, late', new Date(2026, 11, 31, 21, 0)],
  ['1 January, just after midnight', new Date(2027, 0, 1, 0, 5)],
  ['the spring DST day, before the change', new Date(2026, 2, 29, 0, 55)],
  ['the autumn DST day, before the change', new Date(2026, 9, 25, 0, 55)],
  ['the 31st of March', new Date(2026, 2, 31, 9, 0)],
];

for (const [label, now] of DATES) {
  test(`${label} (${now.toString()}): every member's diary is consistent`, () => {
    const members = new Map(defaultMembers(now).map((m) => [m.username, m] as const));
    const month = localDay(now).slice(0, 8);
    const thisMonth = (m: FakeMember) => m.diary.filter((v) => v.watchedDate.startsWith(month)).length;
    assert.is(thisMonth(members.get('dave')!), 12);
    assert.is(thisMonth(members.get('marathon')!), 30);
    for (const m of members.values()) {
      const seconds = new Set<number>();
      for (const v of m.diary) {
        assert.ok(v.publishedAt.getTime() <= now.getTime() - 60_000, `${m.username}: ${v.film.title} logged in the future`);
        assert.ok(v.watchedDate <= localDay(now), `${m.username}: ${v.film.title} watched in the future`);
        assert.ok(localDay(v.publishedAt) >= v.watchedDate, `${m.username}: ${v.film.title} logged before it was watched`);
        const s = Math.floor(v.publishedAt.getTime() / 1000);
        assert.not.ok(seconds.has(s), `${m.username}: two entries logged in one second`);
        seconds.add(s);
      }
      // The feed lists by log time, newest first; a correct collection lists newest watched first,
      // the later logged first within a day. They agree only if no day's order is left to chance.
      const byLog = [...m.diary].sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime());
      assert.equal(
        byLog.map((v) => v.viewingId),
        sortDiary(m.diary).map((v) => v.viewingId),
        `${m.username}: log order is watch order`,
      );
    }
    const items = feedItems(members.get('dave')!);
    assert.equal(
      items.map((i) => i.kind),
      [...Array(35).fill('viewing'), 'list'],
      "dave's list comes after his diary entries",
    );
  });
}

test.run();
