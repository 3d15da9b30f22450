/** The one key every per-client limit counts under (server/clientKey.ts). IPv6 cannot be replayed on loopback: tested here. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { addressKey, clientKey, ipv6Groups, mappedIPv4 } from '../../server/clientKey.js';

test('IPv4 is its own key; IPv4-mapped IPv6 (dotted or hex) is the IPv4 address', () => {
  assert.is(addressKey('192.168.1.5'), '192.168.1.5');
  assert.is(addressKey('::ffff:192.168.1.5'), '192.168.1.5');
  assert.is(addressKey('::FFFF:C0A8:105'), '192.168.1.5');
  assert.is(addressKey('0:0:0:0:0:ffff:7f00:1'), '127.0.0.1');
  assert.is(mappedIPv4('::ffff:7f00:1'), '127.0.0.1');
  assert.is(mappedIPv4('::1'), null);
  assert.is(mappedIPv4('64:ff9b::c0a8:105'), null, 'NAT64 is not the mapped form');
});

test('IPv6 is keyed by its /64: every address a guest can pick in its prefix is one client', () => {
  const key = addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
  assert.is(key, '2001:db8:1:2::/64');
  for (const other of ['2001:db8:1:2::1', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:DB8:1:2:1:2:3:4', '2001:db8:1:2::1%eth0']) {
    assert.is(addressKey(other), key, other);
  }
  assert.is.not(addressKey('2001:db8:1:3::1'), key, 'the next /64 is another client');
  assert.is(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.is(addressKey('::1'), '0:0:0:0::/64');
  assert.is(addressKey('::'), '0:0:0:0::/64');
  assert.is(addressKey('1::'), '1:0:0:0::/64');
  assert.is(addressKey('2001:db8::192.0.2.1'), '2001:db8:0:0::/64', 'a dotted tail');
});

test('groups: expansion, and junk is null (its key is itself, never a shared one)', () => {
  assert.equal(ipv6Groups('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(ipv6Groups('1::8'), [1, 0, 0, 0, 0, 0, 0, 8]);
  for (const junk of ['', 'x', '1:2:3', '1:::2', '12345::', '192.168.1']) assert.is(ipv6Groups(junk), null, junk);
  assert.is(addressKey(''), '');
  assert.is(addressKey('not-an-ip'), 'not-an-ip');
});

test('clientKey reads the connection’s own address, never a forwarded header', () => {
  const req = (remoteAddress: string | undefined, headers: Record<string, string> = {}) =>
    ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;
  assert.is(clientKey({ req: req('::ffff:10.0.0.7', { 'x-forwarded-for': '1.2.3.4', forwarded: 'for=5.6.7.8' }) }), '10.0.0.7');
  assert.is(clientKey({ req: req('2001:db8::5') }), '2001:db8:0:0::/64');
  assert.is(clientKey({ req: req(undefined) }), '', 'a socket already closed');
});

test.run();
