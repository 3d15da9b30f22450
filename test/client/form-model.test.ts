import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeRequest } from '../../common/task.js';
import { buildRequest, fieldForServerError, formFromParams, initialForm, usernameProblem, validateForm } from '../../client/form-model.js';

const NOW = new Date(2026, 10, 20, 12, 0, 0); // 20 Nov 2026, local time

test('the first form: this month, classic, remembered name', () => {
  assert.equal(initialForm(NOW, 'dave'), {
    username: 'dave',
    period: 'this-month',
    month: '2026-11',
    count: '30',
    year: '2026',
    layout: 'classic',
  });
});

test('usernameProblem: inline messages, empty only on submit', () => {
  assert.is(usernameProblem(''), null);
  assert.match(usernameProblem('', true) ?? '', /Enter/);
  assert.match(usernameProblem('d') ?? '', /at least 2/);
  assert.match(usernameProblem('a'.repeat(16)) ?? '', /at most 15/);
  assert.match(usernameProblem('dave smith') ?? '', /letters, digits and underscores/);
  assert.is(usernameProblem('Dave_2'), null);
  assert.is(usernameProblem('  dave  '), null, 'surrounding spaces are trimmed');
});

test('buildRequest: each period becomes the request the server expects', () => {
  const f = initialForm(NOW, ' dave ');
  assert.equal(buildRequest(f), { username: 'dave', layout: 'classic', mode: 'month' });
  assert.equal(buildRequest({ ...f, period: 'month', month: '2025-02' }), {
    username: 'dave',
    layout: 'classic',
    mode: 'month',
    month: '2025-02',
  });
  assert.equal(buildRequest({ ...f, period: 'recent', count: '12', layout: 'grid' }), {
    username: 'dave',
    layout: 'grid',
    mode: 'recent',
    count: 12,
  });
  assert.equal(buildRequest({ ...f, period: 'year', year: '2024' }), { username: 'dave', layout: 'classic', mode: 'year', year: 2024 });
  assert.equal(buildRequest({ ...f, period: 'all' }), { username: 'dave', layout: 'classic', mode: 'all' });
  // Every valid form passes the server's own validation.
  for (const period of ['this-month', 'month', 'recent', 'year', 'all'] as const) {
    normalizeRequest(buildRequest({ ...f, period, month: '2026-01' }), NOW);
  }
});

test('validateForm: same rules as the server, reported by field', () => {
  const f = initialForm(NOW, 'dave');
  assert.equal(validateForm(f, NOW), {});
  assert.ok(validateForm({ ...f, username: '' }, NOW).username);
  assert.ok(validateForm({ ...f, period: 'recent', count: '0' }, NOW).count);
  assert.ok(validateForm({ ...f, period: 'recent', count: '51' }, NOW).count);
  assert.ok(validateForm({ ...f, period: 'recent', count: '2.5' }, NOW).count);
  assert.ok(validateForm({ ...f, period: 'recent', count: '' }, NOW).count);
  assert.match(validateForm({ ...f, period: 'year', year: '2027' }, NOW).year ?? '', /future/);
  assert.ok(validateForm({ ...f, period: 'year', year: '1999' }, NOW).year);
  assert.match(validateForm({ ...f, period: 'month', month: '2026-12' }, NOW).month ?? '', /future/);
  assert.ok(validateForm({ ...f, period: 'month', month: 'Nov 2026' }, NOW).month);
  assert.ok(validateForm({ ...f, period: 'month', month: '' }, NOW).month);
  // A bad field the chosen period ignores is not sent, so it is no error.
  assert.equal(validateForm({ ...f, period: 'all', count: 'x', year: 'y' }, NOW), {});
});

test('validateForm: every problem at once, the username’s with the period’s', () => {
  const f = initialForm(NOW, 'd!');
  const future = validateForm({ ...f, period: 'year', year: '2027' }, NOW);
  assert.equal(Object.keys(future).sort(), ['username', 'year']);
  assert.match(future.year!, /future/);
  const month = validateForm({ ...f, username: '', period: 'month', month: '2026-12' }, NOW);
  assert.equal(Object.keys(month).sort(), ['month', 'username']);
  assert.equal(Object.keys(validateForm({ ...f, period: 'recent', count: '0' }, NOW)).sort(), ['count', 'username']);
});

test('formFromParams restores a request for "try again"', () => {
  assert.equal(formFromParams('dave', { mode: 'month', month: '2026-11', layout: 'grid', format: 'jpeg' }, NOW).period, 'this-month');
  const past = formFromParams('dave', { mode: 'month', month: '2025-03', layout: 'classic', format: 'jpeg' }, NOW);
  assert.is(past.period, 'month');
  assert.is(past.month, '2025-03');
  const recent = formFromParams('dave', { mode: 'recent', count: 12, layout: 'grid', format: 'jpeg' }, NOW);
  assert.equal([recent.period, recent.count, recent.layout], ['recent', '12', 'grid']);
  assert.equal(formFromParams('dave', { mode: 'year', year: 2024, layout: 'classic', format: 'jpeg' }, NOW).year, '2024');
  assert.is(formFromParams('dave', { mode: 'all', layout: 'classic', format: 'jpeg' }, NOW).period, 'all');
});

test('server field names map onto form fields', () => {
  assert.is(fieldForServerError('username'), 'username');
  assert.is(fieldForServerError('count'), 'count');
  assert.is(fieldForServerError('body'), 'form');
  assert.is(fieldForServerError(undefined), 'form');
});

test.run();
