/**
 * Certificates through @peculiar/x509 (the only file that imports it): a local CA and the server
 * certificates it signs, EC P-256 keys from WebCrypto, everything in and out as PEM strings.
 */
import 'reflect-metadata'; // @peculiar/x509's ASN.1 schema decorators need it loaded first
import * as x509 from '@peculiar/x509';
// @peculiar/x509 has no class for the name-constraints extension: its ASN.1 types build and read it.
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A private key and its certificate, both PEM (PKCS#8 key). */
export interface KeyCert {
  key: string;
  cert: string;
}

/** What a server certificate names: DNS names and IP addresses (canonical text form). */
export interface CertNames {
  dns: string[];
  ips: string[];
}

/** A CA's permitted names: DNS names (each covers itself and every name under it) and IP ranges (CIDR). */
export interface NameLimits {
  dns: string[];
  ips: string[];
}

export interface CertInfo {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  names: CertNames;
  /** A CA's name constraints (permitted subtrees), or null when it has none (it may sign for any name). */
  constraints: NameLimits | null;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons (how phones and browsers show it). */
  fingerprint256: string;
  der: Buffer;
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** An RDN value safe inside a DN string (`,` `+` `=` and friends escaped). */
function rdn(value: string): string {
  return value.replace(/[\\,+="<>;#]/g, (c) => `\\${c}`);
}

/** The critical name-constraints extension permitting `limits` (RFC 5280 §4.2.1.10). */
function nameConstraints(limits: NameLimits): x509.Extension {
  const subtrees = [
    ...limits.dns.map((dNSName) => new GeneralSubtree({ base: new GeneralName({ dNSName }) })),
    ...limits.ips.map((iPAddress) => new GeneralSubtree({ base: new GeneralName({ iPAddress }) })),
  ];
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
  return new x509.Extension(id_ce_nameConstraints, true, value);
}

function readConstraints(cert: x509.X509Certificate): NameLimits | null {
  const ext = cert.getExtension(id_ce_nameConstraints);
  if (!ext) return null;
  const parsed = AsnConvert.parse(ext.value, NameConstraints);
  const out: NameLimits = { dns: [], ips: [] };
  for (const t of parsed.permittedSubtrees ?? []) {
    if (t.base.dNSName !== undefined) out.dns.push(t.base.dNSName.toLowerCase());
    if (t.base.iPAddress !== undefined) out.ips.push(t.base.iPAddress);
  }
  return out;
}

/**
 * A self-signed CA: basicConstraints CA:true pathLen 0 (critical), keyUsage keyCertSign + cRLSign
 * (critical). pathLen 0 means it can sign server certificates but no intermediate CA. With `permitted`,
 * critical name constraints: a device that trusts it accepts what it signs for those names only, so
 * its key (were it ever stolen) cannot impersonate a bank or any other site.
 */
export async function createCaCert(opts: {
  commonName: string;
  unit?: string;
  now: Date;
  days: number;
  permitted?: NameLimits;
}): Promise<KeyCert> {
  const keys = await newKeyPair();
  const name = `CN=${rdn(opts.commonName)}, O=moviemosaic${opts.unit ? `, OU=${rdn(opts.unit)}` : ''}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(opts.now.getTime() - 3_600_000),
    notAfter: new Date(opts.now.getTime() + opts.days * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(opts.permitted ? [nameConstraints(opts.permitted)] : []),
    ],
  });
  return { key: await keyPem(keys.privateKey), cert: cert.toString('pem') };
}

/**
 * A server certificate signed by `ca`: not a CA, keyUsage digitalSignature (all an ECDHE-ECDSA
 * handshake needs), EKU serverAuth, the given SANs. Valid from an hour ago (phones whose clock runs a
 * little behind) for `days`, never past the CA's own end.
 */
export async function issueServerCert(opts: { ca: KeyCert; names: CertNames; now: Date; days: number }): Promise<KeyCert> {
  if (opts.names.dns.length + opts.names.ips.length === 0) throw new Error('a server certificate needs at least one name');
  const caCert = new x509.X509Certificate(opts.ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(opts.ca.key), EC, false, ['sign']);
  const keys = await newKeyPair();
  const notAfter = Math.min(opts.now.getTime() + opts.days * DAY, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${rdn(opts.names.dns[0] ?? opts.names.ips[0])}, O=moviemosaic`,
    issuer: caCert.subjectName, // the CA's own encoding, so name chaining compares equal bytes
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: EC,
    notBefore: new Date(opts.now.getTime() - 3_600_000),
    notAfter: new Date(notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...opts.names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...opts.names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { key: await keyPem(keys.privateKey), cert: cert.toString('pem') };
}

/** The first certificate of a PEM bundle, parsed. Throws on anything that is not a certificate. */
export function readCert(pem: string): CertInfo {
  const cert = new x509.X509Certificate(x509.PemConverter.decodeFirst(pem));
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names: CertNames = { dns: [], ips: [] };
  for (const n of san?.names.toJSON() ?? []) {
    if (n.type === 'dns') names.dns.push(n.value.toLowerCase());
    if (n.type === 'ip') names.ips.push(n.value);
  }
  const der = Buffer.from(cert.rawData);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    names,
    constraints: readConstraints(cert),
    fingerprint256: new NodeX509(der).fingerprint256,
    der,
  };
}

/** Whether `key` is the private key of `cert`'s public key. */
export function keyMatches(cert: string, key: string): boolean {
  try {
    return new NodeX509(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** Whether `cert` carries a valid signature by `caCert`'s key. */
export function signedBy(cert: string, caCert: string): boolean {
  try {
    return new NodeX509(cert).verify(new NodeX509(caCert).publicKey);
  } catch {
    return false;
  }
}
