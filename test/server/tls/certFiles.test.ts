/** Bring your own certificate: TLS_CERT/TLS_KEY loaded, reloaded on change, a broken pair ignored. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, renameSync, symlinkSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { openCertFiles, openTls, keepSecureContext, httpsServerOptions } from '../../../server/tls/index.js';
import { createCaCert, issueServerCert, type KeyCert } from '../../../server/tls/x509.js';
import { systemClock } from '../../../common/clock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { handshake, memoryLog } from '../../helpers/tls.js';

const fp = (cert: string) => new X509Certificate(cert).fingerprint256;

let ca: KeyCert;
async function pair(name: string): Promise<KeyCert> {
  ca ??= await createCaCert({ commonName: 'test CA', now: new Date(), days: 30 });
  return issueServerCert({ ca, names: { dns: [name], ips: ['127.0.0.1'] }, now: new Date(), days: 10 });
}

/** A folder with cert.pem and key.pem holding a pair for `first.example`. */
async function folder() {
  const t = tmpDir('mm-byo-');
  const certPath = join(t.dir, 'cert.pem');
  const keyPath = join(t.dir, 'key.pem');
  const write = (p: KeyCert) => {
    writeFileSync(certPath, p.cert);
    writeFileSync(keyPath, p.key);
  };
  write(await pair('first.example'));
  const { log, lines } = memoryLog();
  return { t, certPath, keyPath, write, log, lines };
}

test('loads the pair; no CA to offer; covers the names in the certificate', async () => {
  const f = await folder();
  try {
    const source = openCertFiles({ certPath: f.certPath, keyPath: f.keyPath, log: f.log, clock: systemClock });
    assert.is(source.kind, 'files');
    assert.is(source.caCertPem(), null);
    assert.ok(source.covers('first.example'));
    assert.not.ok(source.covers('pi.local'));
    assert.is(await source.checkOnce(), false, 'nothing changed');
    assert.ok(
      f.lines().some((l) => l.level === 'warn' && /expires soon/.test(l.msg)),
      'a 10-day certificate is worth a warning',
    );
  } finally {
    f.t.cleanup();
  }
});

test('a pair that does not match refuses to start, with both paths in the message', async () => {
  const f = await folder();
  try {
    writeFileSync(f.keyPath, (await pair('other.example')).key);
    assert.throws(
      () => openCertFiles({ certPath: f.certPath, keyPath: f.keyPath, log: f.log, clock: systemClock }),
      (e: Error) => e.message.includes(f.certPath) && e.message.includes(f.keyPath),
    );
    unlinkSync(f.keyPath);
    assert.throws(() => openCertFiles({ certPath: f.certPath, keyPath: f.keyPath, log: f.log, clock: systemClock }), /could not be read/);
  } finally {
    f.t.cleanup();
  }
});

test('checkOnce: a new pair is taken; a half-written or mismatched one keeps the old and logs once', async () => {
  const f = await folder();
  try {
    const source = openCertFiles({ certPath: f.certPath, keyPath: f.keyPath, log: f.log, clock: systemClock });
    const first = source.current();
    const seen: KeyCert[] = [];
    source.onChange((m) => seen.push(m));

    const second = await pair('second.example');
    writeFileSync(f.certPath, second.cert); // the certificate first, the key not yet
    assert.is(await source.checkOnce(), false);
    assert.is(source.current(), first, 'the old pair still serves');
    assert.is(f.lines().filter((l) => l.level === 'error').length, 1);
    assert.is(await source.checkOnce(), false);
    assert.is(f.lines().filter((l) => l.level === 'error').length, 1, 'reported once, not at every poll');

    writeFileSync(f.keyPath, second.key);
    assert.is(await source.checkOnce(), true);
    assert.is(source.current().cert, second.cert);
    assert.is(seen.length, 1);
    assert.ok(source.covers('second.example'));

    writeFileSync(f.certPath, 'not a certificate');
    assert.is(await source.checkOnce(), false);
    assert.is(source.current().cert, second.cert);
  } finally {
    f.t.cleanup();
  }
});

test('a symlink swap (certbot live/ -> archive/) is noticed', async () => {
  const t = tmpDir('mm-byo-link-');
  try {
    const archive = join(t.dir, 'archive');
    const live = join(t.dir, 'live');
    mkdirSync(archive);
    mkdirSync(live);
    const one = await pair('one.example');
    const two = await pair('two.example');
    writeFileSync(join(archive, 'cert1.pem'), one.cert);
    writeFileSync(join(archive, 'key1.pem'), one.key);
    writeFileSync(join(archive, 'cert2.pem'), two.cert);
    writeFileSync(join(archive, 'key2.pem'), two.key);
    symlinkSync(join(archive, 'cert1.pem'), join(live, 'cert.pem'));
    symlinkSync(join(archive, 'key1.pem'), join(live, 'key.pem'));
    const { log } = memoryLog();
    const source = openCertFiles({ certPath: join(live, 'cert.pem'), keyPath: join(live, 'key.pem'), log, clock: systemClock });
    for (const [name, target] of [
      ['cert.pem', 'cert2.pem'],
      ['key.pem', 'key2.pem'],
    ]) {
      symlinkSync(join(archive, target), join(live, `${name}.new`));
      renameSync(join(live, `${name}.new`), join(live, name));
    }
    assert.is(await source.checkOnce(), true);
    assert.is(source.current().cert, two.cert);
  } finally {
    t.cleanup();
  }
});

test('watching: writing a new pair changes the context a live HTTPS server presents', async () => {
  const f = await folder();
  // Polling is slowed right down, so the change must come from the folder watcher.
  const source = openCertFiles({
    certPath: f.certPath,
    keyPath: f.keyPath,
    log: f.log,
    clock: systemClock,
    pollMs: 600_000,
    debounceMs: 50,
  });
  const server = createServer(httpsServerOptions(source), (_req, res) => res.end('ok'));
  keepSecureContext(server, source);
  const alive = setTimeout(() => undefined, 20_000); // the watcher and timers are unref'd by design
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const before = await handshake(port, { ca: ca.cert, servername: 'first.example' });
    assert.ok(before.authorized, before.error);
    assert.is(before.fingerprint256, fp(source.current().cert));

    source.start();
    const changed = new Promise<KeyCert>((resolve) => source.onChange(resolve));
    const next = await pair('renewed.example');
    // The way a renewal tool writes: each file to a temporary name, then renamed into place.
    writeFileSync(`${f.keyPath}.tmp`, next.key);
    renameSync(`${f.keyPath}.tmp`, f.keyPath);
    writeFileSync(`${f.certPath}.tmp`, next.cert);
    renameSync(`${f.certPath}.tmp`, f.certPath);
    const got = await changed;
    assert.is(got.cert, next.cert);

    const after = await handshake(port, { ca: ca.cert, servername: 'renewed.example' });
    assert.ok(after.authorized, after.error);
    assert.is(after.fingerprint256, fp(next.cert));
    assert.ok(f.lines().some((l) => l.msg === 'tls: reloaded TLS_CERT/TLS_KEY'));
  } finally {
    clearTimeout(alive);
    source.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    f.t.cleanup();
  }
});

test('openTls picks TLS_CERT/TLS_KEY when set, the built-in CA otherwise', async () => {
  const f = await folder();
  try {
    const { log } = memoryLog();
    const base = { hostname: 'pi', names: () => ['localhost'], clock: systemClock, log };
    const files = await openTls({ ...base, config: { dataDir: f.t.dir, tlsCert: f.certPath, tlsKey: f.keyPath, allowedHosts: [] } });
    assert.is(files.kind, 'files');
    const own = await openTls({ ...base, config: { dataDir: f.t.dir, tlsCert: null, tlsKey: null, allowedHosts: ['box.lan'] } });
    assert.is(own.kind, 'own-ca');
    assert.ok(own.covers('box.lan'));
    assert.ok(own.covers('127.0.0.1'));
  } finally {
    f.t.cleanup();
  }
});

test.run();
