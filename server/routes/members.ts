/**
 * A member as this server knows them: `GET /api/users/:username` (whether the server follows them and
 * how much of their diary it has kept from their feed) and `DELETE /api/users/:username/follow`
 * (stop following: the member's archive is deleted).
 */
import Router from 'koa-router';
import { normalizeUsername } from '../../common/task.js';
import type { MemberResponse } from '../../common/protocol.js';
import type { DiaryArchive } from '../../db/port.js';
import { writeOnce, type RetryBusy } from '../busy.js';

export interface MemberRouteDeps {
  /** Members' diary archives: what the member's page shows, and "stop following". */
  archive: Pick<DiaryArchive, 'summary' | 'forget'>;
  /** Runs the forget write, waiting out a lock held elsewhere (server/busy.ts). */
  retryBusy?: RetryBusy;
}

export function createMemberRoutes(deps: MemberRouteDeps): Router {
  const { archive } = deps;
  const write = deps.retryBusy ?? writeOnce;
  const router = new Router();

  router.get('/api/users/:username', async (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    ctx.body = { member: await archive.summary(username) } satisfies MemberResponse;
  });

  router.delete('/api/users/:username/follow', async (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    await write(() => archive.forget(username));
    ctx.body = { member: await archive.summary(username) } satisfies MemberResponse;
  });
  return router;
}
