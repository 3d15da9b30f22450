/**
 * A member as this server knows them: `GET /api/users/:username` (whether the server follows them and
 * how much of their diary it has kept from their feed) and `DELETE /api/users/:username/follow`
 * (stop following: the member's archive is deleted).
 */
import type Router from 'koa-router';
import { normalizeUsername } from '../../common/task.js';
import type { MemberResponse } from '../../common/protocol.js';
import type { AppDeps } from '../app.js';

export function memberRoutes(router: Router, deps: Pick<AppDeps, 'archive' | 'retryBusy'>): void {
  const { archive } = deps;
  const write = deps.retryBusy ?? (async <T>(fn: () => T) => fn());

  router.get('/api/users/:username', (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    ctx.body = { member: archive.summary(username) } satisfies MemberResponse;
  });

  router.delete('/api/users/:username/follow', async (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    await write(() => archive.forget(username));
    ctx.body = { member: archive.summary(username) } satisfies MemberResponse;
  });
}
