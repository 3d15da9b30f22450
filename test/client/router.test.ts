import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interceptedUrl, matchRoute, paths, type AnchorLike, type ClickLike } from '../../client/router.js';

const ID = '3f2a9c1e-7b4d-4e8a-9f10-2b3c4d5e6f70';

test('matchRoute: home, with and without the failed-task and prefill queries', () => {
  assert.equal(matchRoute('/'), { name: 'home', taskId: null, username: null });
  assert.equal(matchRoute('/', `?task=${ID}`), { name: 'home', taskId: ID, username: null });
  assert.equal(matchRoute('/', '?user=Dave'), { name: 'home', taskId: null, username: 'dave' });
  // Junk in the query is ignored, not an error page.
  assert.equal(matchRoute('/', '?task=../../etc&user=a'), { name: 'home', taskId: null, username: null });
});

test('matchRoute: task page', () => {
  assert.equal(matchRoute(`/task/${ID}`), { name: 'task', id: ID });
  assert.equal(matchRoute(`/task/${ID}/`), { name: 'task', id: ID });
  assert.equal(matchRoute('/task'), { name: 'not-found' });
  assert.equal(matchRoute(`/task/${ID}/extra`), { name: 'not-found' });
  assert.equal(matchRoute('/task/has%20space'), { name: 'not-found' });
});

test('matchRoute: member pages, username lowercased and validated', () => {
  assert.equal(matchRoute('/user/Dave'), { name: 'user', username: 'dave', taskId: null });
  assert.equal(matchRoute(`/user/dave/${ID}`), { name: 'user', username: 'dave', taskId: ID });
  assert.equal(matchRoute('/user/dave/'), { name: 'user', username: 'dave', taskId: null });
  assert.equal(matchRoute('/user/d'), { name: 'not-found' }, 'too short');
  assert.equal(matchRoute('/user/dave.smith'), { name: 'not-found' }, 'bad character');
  assert.equal(matchRoute('/user/%E0%A4%A'), { name: 'not-found' }, 'malformed escape');
  assert.equal(matchRoute('/user/dave/a/b'), { name: 'not-found' });
});

test('matchRoute: server paths and doubled slashes are not client routes', () => {
  for (const p of ['/setup', '/api/tasks', '/ca.crt', '/healthz', '/ws', '//user/dave', '/user//dave']) {
    assert.equal(matchRoute(p), { name: 'not-found' }, p);
  }
});

test('paths round-trip through matchRoute', () => {
  assert.is(paths.home(), '/');
  assert.is(paths.home({ task: ID }), `/?task=${ID}`);
  assert.is(paths.home({ user: 'dave' }), '/?user=dave');
  assert.is(paths.task(ID), `/task/${ID}`);
  assert.is(paths.user('Dave'), '/user/dave');
  assert.is(paths.user('dave', ID), `/user/dave/${ID}`);
  const u = new URL(paths.home({ task: ID, user: 'dave' }), 'http://x');
  assert.equal(matchRoute(u.pathname, u.search), { name: 'home', taskId: ID, username: 'dave' });
});

const click = (over: Partial<ClickLike> = {}): ClickLike => ({
  button: 0,
  metaKey: false,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  defaultPrevented: false,
  ...over,
});
const anchor = (href: string, attrs: Record<string, string> = {}, target = ''): AnchorLike => ({
  href,
  target,
  hasAttribute: (n) => n in attrs,
});
const ORIGIN = 'https://pi.local:8443';

test('interceptedUrl: plain in-app links are handled by the router', () => {
  assert.is(interceptedUrl(click(), anchor(`${ORIGIN}/user/dave`), ORIGIN)?.pathname, '/user/dave');
  assert.is(interceptedUrl(click(), anchor('/task/abc'), ORIGIN)?.pathname, '/task/abc');
  assert.is(interceptedUrl(click(), anchor('/?user=dave'), ORIGIN)?.search, '?user=dave');
});

test('interceptedUrl: the browser keeps everything else', () => {
  assert.is(interceptedUrl(click(), anchor('/setup'), ORIGIN), null, 'server page');
  assert.is(interceptedUrl(click(), anchor('/api/tasks/x/result'), ORIGIN), null, 'api');
  assert.is(interceptedUrl(click(), anchor('https://letterboxd.com/dave/'), ORIGIN), null, 'other origin');
  assert.is(interceptedUrl(click(), anchor('http://pi.local:8080/user/dave'), ORIGIN), null, 'other scheme/port');
  assert.is(interceptedUrl(click({ ctrlKey: true }), anchor('/user/dave'), ORIGIN), null, 'ctrl-click');
  assert.is(interceptedUrl(click({ metaKey: true }), anchor('/user/dave'), ORIGIN), null, 'cmd-click');
  assert.is(interceptedUrl(click({ button: 1 }), anchor('/user/dave'), ORIGIN), null, 'middle click');
  assert.is(interceptedUrl(click({ defaultPrevented: true }), anchor('/user/dave'), ORIGIN), null, 'handled');
  assert.is(interceptedUrl(click(), anchor('/user/dave', {}, '_blank'), ORIGIN), null, 'new tab');
  assert.is(interceptedUrl(click(), anchor('/user/dave', { download: '' }), ORIGIN), null, 'download');
  assert.is(interceptedUrl(click(), anchor('/user/dave', { 'data-native': '' }), ORIGIN), null, 'opt-out');
  assert.is(interceptedUrl(click(), anchor('/user/dave#films'), ORIGIN, `${ORIGIN}/user/dave`), null, 'in-page anchor');
});

test.run();
