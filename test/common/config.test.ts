import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../../common/config.js';

test('FEED_POLL_HOURS: default 6, fractions allowed, 0 turns polls off; FOLLOW_MAX default 200', () => {
  assert.is(loadConfig({}).feedPollHours, 6);
  assert.is(loadConfig({}).followMax, 200);
  assert.is(loadConfig({ FEED_POLL_HOURS: '0.01' }).feedPollHours, 0.01);
  assert.is(loadConfig({ FEED_POLL_HOURS: '0' }).feedPollHours, 0);
  assert.is(loadConfig({ FOLLOW_MAX: '5' }).followMax, 5);
});

test('bad values are reported together, each naming its setting', () => {
  try {
    loadConfig({ FEED_POLL_HOURS: '-1', FOLLOW_MAX: '0' });
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, ConfigError);
    const problems = (err as ConfigError).problems;
    assert.is(problems.length, 2);
    assert.match(problems[0], /^FEED_POLL_HOURS="-1" must be a number from 0 to 720\.$/);
    assert.match(problems[1], /^FOLLOW_MAX="0" must be a whole number from 1 to 100000\.$/);
  }
  assert.throws(() => loadConfig({ FEED_POLL_HOURS: 'six' }), /FEED_POLL_HOURS="six"/);
});

test.run();
