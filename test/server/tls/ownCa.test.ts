/** The built-in CA and server certificate: contents, files, renewal on new names and near the end. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { openOwnCa, keepSecureContext, httpsServerOptions, certNames, type OwnCaOptions } from '../../../server/tls/index.js';
import { createCaCert, issueServerCert, readCert } from '../../../server/tls/x509.js';
import { tmpDir } from '../../helpers/tmp.js';
import { fakeClock } from '../../helpers/fakeClock.js';
import { handshake, memoryLog } from '../../helpers/tls.js';

const DAY = 86_400_000;
const mode = (p: string) => statSync(p).mode & 0o777;

/** An own-CA source in a fresh DATA_DIR/tls, with names the test controls. */
async function setup(over: Partial<OwnCaOptions> & { names?: () => string[] } = {}) {
  const t = tmpDir('mm-tls-');
  const dir = join(t.dir, 'tls');
  const clock = over.clock ?? fakeClock(Date.now());
  const { log, lines } = memoryLog();
  let names = ['localhost', 'pi', 'pi.local', '192.168.1.20', 'fe80::1', 'moviemosaic.home.arpa'];
  const opts: OwnCaOptions = {
    dir,
    hostname: 'pi',
    names: over.names ?? (() => names),
    pinned: ['moviemosaic.home.arpa', '2001:db8::7'],
    clock,
    log,
    ...over,
  };
  const source = await openOwnCa(opts);
  return { t, dir, source, opts, lines, setNames: (n: string[]) => (names = n), cleanup: t.cleanup };
}

/** OpenSSL's own chain check of the folder's server certificate against its CA, with the purpose a browser asks for. */
function assertServerCertVerifies(dir: string): void {
  const verified = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'server.crt')], {
    encoding: 'utf8',
  });
  assert.match(verified, /: OK/);
}

test('first start makes a CA and a server certificate with the expected contents', async () => {
  const s = await setup();
  try {
    const ca = new X509Certificate(readFileSync(join(s.dir, 'ca.crt')));
    const srv = new X509Certificate(s.source.current().cert);
    assert.ok(ca.ca, 'the CA is a CA');
    assert.is(srv.ca, false, 'the server certificate is not a CA');
    assert.ok(srv.verify(ca.publicKey), 'signed by the CA');
    assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
    assert.is(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.is(srv.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(ca.subject, /CN=moviemosaic local CA \(pi\)/);
    assert.is(s.source.caCertPem(), readFileSync(join(s.dir, 'ca.crt'), 'utf8'));

    const info = readCert(s.source.current().cert);
    assert.equal(info.names.dns.sort(), ['localhost', 'moviemosaic.home.arpa', 'pi', 'pi.local']);
    // LAN IPv4 and loopbacks; a rotating IPv6 from the interfaces is left out, a pinned one kept.
    assert.equal(info.names.ips.sort(), ['127.0.0.1', '192.168.1.20', '2001:db8::7', '::1']);
    const days = (info.notAfter.getTime() - info.notBefore.getTime()) / DAY;
    assert.ok(days <= 825, `server certificate valid ${days} days`);
    const caInfo = readCert(readFileSync(join(s.dir, 'ca.crt'), 'utf8'));
    const caYears = (caInfo.notAfter.getTime() - caInfo.notBefore.getTime()) / DAY / 365;
    assert.ok(caYears > 1.9 && caYears < 2.1, `CA valid ${caYears} years`);
  } finally {
    s.cleanup();
  }
});

test('extensions as OpenSSL reads them: constraints, usages, EKU, SANs', async () => {
  const s = await setup();
  try {
    const text = (file: string) => execFileSync('openssl', ['x509', '-noout', '-text', '-in', file], { encoding: 'utf8' });
    const ca = text(join(s.dir, 'ca.crt'));
    assert.match(ca, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(ca, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    assert.match(ca, /ecdsa-with-SHA256/);
    const srv = text(join(s.dir, 'server.crt'));
    assert.match(srv, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(srv, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(srv, /X509v3 Extended Key Usage: \s*\n\s+TLS Web Server Authentication\n/);
    assert.match(srv, /DNS:pi\.local/);
    assert.match(srv, /IP Address:192\.168\.1\.20/);
    assert.match(srv, /X509v3 Authority Key Identifier/);
    assertServerCertVerifies(s.dir);
  } finally {
    s.cleanup();
  }
});

test('files: folder 0700, keys 0600, certificates readable; key files match the certificates', async () => {
  const s = await setup();
  try {
    assert.is(mode(s.dir), 0o700);
    assert.is(mode(join(s.dir, 'ca.key')), 0o600);
    assert.is(mode(join(s.dir, 'server.key')), 0o600);
    assert.is(mode(join(s.dir, 'ca.crt')), 0o644);
    assert.is(mode(join(s.dir, 'server.crt')), 0o644);
    assert.is(readFileSync(join(s.dir, 'server.key'), 'utf8'), s.source.current().key);
    assert.is(readFileSync(join(s.dir, 'server.crt'), 'utf8'), s.source.current().cert);
    assert.match(s.source.current().key, /^-----BEGIN PRIVATE KEY-----/);
  } finally {
    s.cleanup();
  }
});

test('a second start reuses both certificates, and tightens a key left readable by others', async () => {
  const s = await setup();
  try {
    const before = { ca: s.source.caCertPem(), ...s.source.current() };
    chmodSync(join(s.dir, 'ca.key'), 0o644);
    chmodSync(s.dir, 0o755);
    const again = await openOwnCa(s.opts);
    assert.is(again.caCertPem(), before.ca);
    assert.is(again.current().cert, before.cert);
    assert.is(again.current().key, before.key);
    assert.is(mode(join(s.dir, 'ca.key')), 0o600);
    assert.is(mode(s.dir), 0o700);
    assert.ok(s.lines().some((l) => l.level === 'warn' && /readable by others/.test(l.msg)));
    assert.is(await again.checkOnce(), false, 'nothing to renew');
  } finally {
    s.cleanup();
  }
});

test('a new LAN address or ALLOWED_HOSTS-like name re-issues the server certificate, same CA', async () => {
  const s = await setup();
  try {
    const ca = s.source.caCertPem();
    const first = s.source.current().cert;
    const seen: string[] = [];
    s.source.onChange((m) => seen.push(m.cert));
    assert.is(await s.source.checkOnce(), false);

    s.setNames(['localhost', 'pi', 'pi.local', '192.168.1.20']); // a name went away: still covered, keep it
    assert.is(await s.source.checkOnce(), false);

    s.setNames(['localhost', 'pi', 'pi.local', '10.0.0.5']); // DHCP handed out a new address
    assert.is(await s.source.checkOnce(), true);
    assert.is(seen.length, 1);
    const info = readCert(s.source.current().cert);
    assert.ok(info.names.ips.includes('10.0.0.5'));
    assert.not.ok(info.names.ips.includes('192.168.1.20'), 'issued for the names of now');
    assert.is(s.source.caCertPem(), ca, 'the CA stays: devices keep trusting');
    assert.is.not(s.source.current().cert, first);
    assert.is(readFileSync(join(s.dir, 'server.crt'), 'utf8'), s.source.current().cert);
    assert.ok(s.source.covers('10.0.0.5'));
    assert.not.ok(s.source.covers('192.168.1.20'));
    assert.ok(s.lines().some((l) => l.msg === 'tls: issued a server certificate' && /new names: 10\.0\.0\.5/.test(String(l.reason))));

    s.setNames(['localhost', 'pi', 'pi.local', '10.0.0.5', 'fe80::99']); // a new link-local IPv6: ignored
    assert.is(await s.source.checkOnce(), false);
  } finally {
    s.cleanup();
  }
});

test('renews 30 days before the end, not before', async () => {
  const clock = fakeClock(Date.now());
  const s = await setup({ clock });
  try {
    const first = readCert(s.source.current().cert);
    clock.set(first.notAfter.getTime() - 31 * DAY);
    assert.is(await s.source.checkOnce(), false);
    clock.set(first.notAfter.getTime() - 29 * DAY);
    assert.is(await s.source.checkOnce(), true);
    const next = readCert(s.source.current().cert);
    assert.ok(next.notAfter.getTime() > first.notAfter.getTime());
    assert.ok(next.notBefore.getTime() <= clock.now());
    assert.ok(s.lines().some((l) => l.reason === 'about to expire'));
    assert.is(readCert(s.source.caCertPem()!).fingerprint256, readCert(readFileSync(join(s.dir, 'ca.crt'), 'utf8')).fingerprint256);
  } finally {
    s.cleanup();
  }
});

test('a CA near its own end is replaced (with a warning), and the server certificate with it', async () => {
  const clock = fakeClock(Date.now());
  const s = await setup({ clock });
  try {
    const ca = readCert(s.source.caCertPem()!);
    clock.set(ca.notAfter.getTime() - 10 * DAY);
    assert.is(await s.source.checkOnce(), true);
    const ca2 = readCert(s.source.caCertPem()!);
    assert.is.not(ca2.fingerprint256, ca.fingerprint256);
    assert.ok(new X509Certificate(s.source.current().cert).verify(new X509Certificate(s.source.caCertPem()!).publicKey));
    assert.ok(s.lines().some((l) => l.level === 'warn' && /new local CA/.test(l.msg)));
  } finally {
    s.cleanup();
  }
});

test('the CA carries critical name constraints: home-network names, its names at creation, private ranges; it cannot vouch for another site', async () => {
  const s = await setup();
  try {
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(s.dir, 'ca.crt')], { encoding: 'utf8' });
    assert.match(text, /X509v3 Name Constraints: critical/);
    const limits = readCert(s.source.caCertPem()!).constraints!;
    for (const d of ['localhost', 'local', 'lan', 'home.arpa', 'internal', 'pi']) assert.ok(limits.dns.includes(d), d);
    assert.not.ok(limits.dns.includes('pi.local'), 'already under .local');
    for (const r of [
      '127.0.0.0/8',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '::1/128',
      'fc00::/7',
      'fe80::/10',
      '2001:db8::7/128',
    ]) {
      assert.ok(limits.ips.includes(r), r);
    }
    // The server certificate verifies; one the same key signs for any other site does not.
    const verify = (cert: string) => {
      const file = join(s.dir, 'probe.crt');
      writeFileSync(file, cert);
      try {
        return execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(s.dir, 'ca.crt'), file], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
      } catch (err) {
        return String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr);
      }
    };
    assert.match(verify(s.source.current().cert), /: OK/);
    const caPair = { key: readFileSync(join(s.dir, 'ca.key'), 'utf8'), cert: s.source.caCertPem()! };
    for (const names of [
      { dns: ['bank.example'], ips: [] },
      { dns: ['localhost.evil.example'], ips: [] },
      { dns: [], ips: ['8.8.8.8'] },
    ]) {
      const forged = await issueServerCert({ ca: caPair, names, now: new Date(), days: 30 });
      assert.match(verify(forged.cert), /subtree violation/, JSON.stringify(names));
    }
    const fine = await issueServerCert({
      ca: caPair,
      names: { dns: ['nas.home.arpa', 'printer.lan'], ips: ['172.20.1.2'] },
      now: new Date(),
      days: 30,
    });
    assert.match(verify(fine.cert), /: OK/);
  } finally {
    s.cleanup();
  }
});

test('a name added after the CA was made, outside its constraints, stays out of the certificate (which stays valid) with a warning', async () => {
  const s = await setup();
  try {
    s.setNames(['localhost', 'pi', 'pi.local', '192.168.1.20', 'mosaic.example', '10.1.2.3']);
    assert.is(await s.source.checkOnce(), true, 'the new private address is taken');
    const info = readCert(s.source.current().cert);
    assert.ok(info.names.ips.includes('10.1.2.3'));
    assert.not.ok(info.names.dns.includes('mosaic.example'));
    const warned = s.lines().filter((l) => l.level === 'warn' && /outside the local CA/.test(String(l.msg)));
    assert.is(warned.length, 1);
    assert.equal(warned[0].names, ['mosaic.example']);
    assert.is(await s.source.checkOnce(), false, 'no re-issue loop for a name it cannot have');
    assert.is(s.lines().filter((l) => /outside the local CA/.test(String(l.msg))).length, 1, 'said once');
    assertServerCertVerifies(s.dir);
  } finally {
    s.cleanup();
  }
});

test('an unconstrained 10-year CA from an earlier version keeps working until it is 2 years old, then a constrained one replaces it', async () => {
  const clock = fakeClock(Date.now());
  const t = tmpDir('mm-tls-');
  const dir = join(t.dir, 'tls');
  const old = await createCaCert({ commonName: 'moviemosaic local CA (pi)', now: new Date(clock.now()), days: 3650 });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'ca.key'), old.key, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), old.cert);
  const { log, lines } = memoryLog();
  try {
    const source = await openOwnCa({ dir, hostname: 'pi', names: () => ['localhost', 'pi', 'mosaic.example'], clock, log });
    assert.is(source.caCertPem(), old.cert, 'kept: devices that trust it keep working');
    assert.is(readCert(old.cert).constraints, null);
    assert.ok(readCert(source.current().cert).names.dns.includes('mosaic.example'), 'an unconstrained CA still signs any name');
    clock.set(clock.now() + 729 * DAY);
    await source.checkOnce(); // the server certificate (397 days) is renewed meanwhile, by the same CA
    assert.is(source.caCertPem(), old.cert, 'still the old CA at 729 days');
    clock.set(clock.now() + 2 * DAY);
    assert.is(await source.checkOnce(), true);
    assert.is.not(source.caCertPem(), old.cert);
    const ca = readCert(source.caCertPem()!);
    assert.ok(ca.constraints?.dns.includes('mosaic.example'), 'the names of the day of creation are permitted');
    assert.ok(lines().some((l) => l.level === 'warn' && l.reason === 'older than the CA lifetime'));
    assert.ok(new X509Certificate(source.current().cert).verify(new X509Certificate(source.caCertPem()!).publicKey));
  } finally {
    t.cleanup();
  }
});

test('a server certificate never outlives its CA', async () => {
  const clock = fakeClock(Date.now());
  const s = await setup({ clock, caDays: 100, renewBeforeDays: 30 });
  try {
    const ca = readCert(s.source.caCertPem()!);
    const srv = readCert(s.source.current().cert);
    assert.ok(srv.notAfter.getTime() <= ca.notAfter.getTime());
  } finally {
    s.cleanup();
  }
});

test('a broken CA key is replaced; a server key that does not match its certificate is re-issued', async () => {
  const s = await setup();
  try {
    const oldCa = s.source.caCertPem();
    writeFileSync(join(s.dir, 'server.key'), readFileSync(join(s.dir, 'ca.key')));
    const a = await openOwnCa(s.opts);
    assert.is(a.caCertPem(), oldCa);
    assert.ok(s.lines().some((l) => l.reason === 'none yet' && l.msg === 'tls: issued a server certificate'));

    writeFileSync(join(s.dir, 'ca.key'), 'garbage');
    const b = await openOwnCa(s.opts);
    assert.is.not(b.caCertPem(), oldCa);
    assert.ok(new X509Certificate(b.current().cert).verify(new X509Certificate(b.caCertPem()!).publicKey));
    assert.ok(s.lines().some((l) => l.level === 'warn' && l.reason === 'unreadable or not matching its key'));
  } finally {
    s.cleanup();
  }
});

test('certNames: loopbacks always, ports and brackets stripped, junk dropped', () => {
  const n = certNames(
    ['LOCALHOST', 'Pi.Local.', '[::1]:8080', '192.168.1.20:8443', 'fe80::1', '::ffff:192.168.1.20', 'bad name', ''],
    ['[2001:DB8::1]', 'x.example:443'],
  );
  assert.equal(n.dns.sort(), ['localhost', 'pi.local', 'x.example']);
  assert.equal(n.ips.sort(), ['127.0.0.1', '192.168.1.20', '2001:db8::1', '::1']);
});

test('a live HTTPS server trusts the chain and picks up a renewal through setSecureContext', async () => {
  const s = await setup();
  const server = createServer(httpsServerOptions(s.source), (_req, res) => res.end('ok'));
  try {
    keepSecureContext(server, s.source);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const ca = s.source.caCertPem()!;

    const one = await handshake(port, { ca, servername: 'pi.local' });
    assert.ok(one.authorized, `verified for pi.local: ${one.error}`);
    const wrong = await handshake(port, { ca, servername: 'elsewhere.example' });
    assert.not.ok(wrong.authorized, 'a name not in the certificate fails');

    s.setNames(['localhost', 'pi', 'pi.local', '192.168.1.20', 'newname.lan']);
    assert.is(await s.source.checkOnce(), true);
    const two = await handshake(port, { ca, servername: 'newname.lan' });
    assert.ok(two.authorized, `verified for the new name: ${two.error}`);
    assert.is.not(two.fingerprint256, one.fingerprint256);
    assert.is(two.fingerprint256, new X509Certificate(s.source.current().cert).fingerprint256);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    s.cleanup();
  }
});

test('start() checks periodically and stop() ends it', async () => {
  const s = await setup({ checkEveryMs: 5 });
  try {
    const renewed = new Promise<string>((resolve) => s.source.onChange((m) => resolve(m.cert)));
    const alive = setTimeout(() => undefined, 10_000); // the source's timers are unref'd by design
    s.source.start();
    s.setNames(['localhost', 'pi', 'pi.local', '172.16.0.9']);
    const cert = await renewed;
    assert.ok(readCert(cert).names.ips.includes('172.16.0.9'));
    s.source.stop();
    clearTimeout(alive);
  } finally {
    s.cleanup();
  }
});

test.run();
