/** The setup page's HTML, from a plain view model (pure; no script, no inline style). */

export type Platform = 'android' | 'ios' | 'desktop';

export interface SetupView {
  /** This request came over HTTPS. */
  secure: boolean;
  /** How HTTPS is provided: off, the built-in CA, or the owner's own certificate files. */
  mode: 'off' | 'own-ca' | 'files';
  /** Full URLs to open, best first. */
  addresses: string[];
  /** What the QR code (/setup/qr.svg) encodes, or null when there is nothing a phone could open. */
  qrUrl: string | null;
  /** The local CA, when there is one to trust. */
  ca: { name: string; fingerprint256: string } | null;
  /** Which instructions to show opened, from the User-Agent. */
  platform: Platform;
}

/** Best-effort guess for which steps to open first; every platform's steps stay on the page. */
export function platformOf(userAgent: string | undefined): Platform {
  const ua = userAgent ?? '';
  if (/android/i.test(ua)) return 'android';
  if (/iphone|ipad|ipod/i.test(ua)) return 'ios';
  return 'desktop';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const e = escapeHtml;
const open = (v: SetupView, p: Platform) => (v.platform === p ? ' open' : '');

function addressList(v: SetupView): string {
  if (v.addresses.length === 0) return "<p>No address found: check the server's HOST setting.</p>";
  const items = v.addresses.map((a) => `<li><a href="${e(a)}">${e(a)}</a></li>`).join('\n');
  const qr = v.qrUrl
    ? `<img class="qr" src="/setup/qr.svg" width="224" height="224" alt="QR code for ${e(v.qrUrl)}">
<p class="note">Scan it with the phone's camera to open <code>${e(v.qrUrl)}</code>.</p>`
    : '';
  return `<ul class="addresses">\n${items}\n</ul>\n${qr}`;
}

function installApp(n: number): string {
  return `<section>
<h2>${n}. Install the app</h2>
<ul>
<li><strong>Android, Chrome:</strong> menu <strong>⋮</strong> → <strong>Install app</strong> (or <strong>Add to Home screen</strong>).</li>
<li><strong>iPhone or iPad, Safari:</strong> <strong>Share</strong> → <strong>Add to Home Screen</strong>.</li>
<li><strong>Computer, Chrome or Edge:</strong> the install icon at the right of the address bar.</li>
</ul>
<p class="note">Once installed it opens on its own and shows the mosaics this device has seen, even offline.</p>
</section>`;
}

function trustSteps(v: SetupView, ca: NonNullable<SetupView['ca']>): string {
  return `<section>
<h2>1. Trust this server's certificate</h2>
<p>Do this once on each device. Download the certificate for your device:</p>
<ul class="downloads">
<li><a href="/ca.mobileconfig">iPhone / iPad profile</a></li>
<li><a href="/ca.crt">Android and computer certificate</a></li>
<li><a href="/ca.der">DER form</a></li>
</ul>
<p>Before you trust it, check its SHA-256 fingerprint against the one the server printed when it started:</p>
<code class="fingerprint">${e(ca.fingerprint256)}</code>
<details${open(v, 'android')}>
<summary>Android</summary>
<ol>
<li>Tap <a href="/ca.crt">Android and computer certificate</a>; it is saved to Downloads as <code>moviemosaic-ca.crt</code>.</li>
<li>Open <strong>Settings</strong> → <strong>Security &amp; privacy</strong> → <strong>More security settings</strong> → <strong>Encryption &amp; credentials</strong> → <strong>Install a certificate</strong> → <strong>CA certificate</strong> (the names vary by maker: search Settings for “CA certificate”).</li>
<li>Tap <strong>Install anyway</strong> and pick <code>moviemosaic-ca.crt</code>.</li>
<li>Open the HTTPS address below in Chrome.</li>
</ol>
</details>
<details${open(v, 'ios')}>
<summary>iPhone and iPad</summary>
<ol>
<li>In Safari, tap <a href="/ca.mobileconfig">iPhone / iPad profile</a> and allow the download.</li>
<li>Open <strong>Settings</strong> → <strong>Profile Downloaded</strong> (or <strong>General</strong> → <strong>VPN &amp; Device Management</strong>) → <strong>moviemosaic</strong> → <strong>Install</strong>.</li>
<li>Open <strong>Settings</strong> → <strong>General</strong> → <strong>About</strong> → <strong>Certificate Trust Settings</strong> and turn on full trust for <strong>${e(ca.name)}</strong>.</li>
<li>Open the HTTPS address below in Safari.</li>
</ol>
</details>
<details${open(v, 'desktop')}>
<summary>Computers</summary>
<ul>
<li><strong>Windows</strong> (Chrome, Edge): open <a href="/ca.crt">moviemosaic-ca.crt</a> → <strong>Install Certificate</strong> → <strong>Current User</strong> → <strong>Place all certificates in the following store</strong> → <strong>Trusted Root Certification Authorities</strong>. Restart the browser.</li>
<li><strong>macOS</strong> (Safari, Chrome): open <a href="/ca.crt">moviemosaic-ca.crt</a> to add it to Keychain Access, double-click <strong>${e(ca.name)}</strong> → <strong>Trust</strong> → <strong>When using this certificate: Always Trust</strong>.</li>
<li><strong>Linux</strong> (Chrome, Chromium): <code>certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n moviemosaic -i moviemosaic-ca.crt</code> (from <code>libnss3-tools</code>), or Settings → Privacy and security → Security → Manage certificates → import it as an authority. Restart the browser.</li>
<li><strong>Firefox</strong> (any system): open the <a href="/ca.der">DER form</a> in Firefox and tick “Trust this CA to identify websites”, or import <code>moviemosaic-ca.crt</code> in Settings → Privacy &amp; Security → Certificates → <strong>View Certificates</strong> → <strong>Authorities</strong>.</li>
</ul>
</details>
</section>`;
}

const ABOUT_CA = `<section>
<h2>About this certificate authority</h2>
<p class="note">This server made it for itself. Its private key never leaves the server's data folder (<code>DATA_DIR/tls</code>): keep that folder private, because a device that trusts this authority accepts any site certificate it signs. It can sign website certificates only, which the server renews by itself, and only for home-network names: <code>localhost</code>, names ending in <code>.local</code>, <code>.lan</code>, <code>.home.arpa</code> or <code>.internal</code>, this machine's names and <code>ALLOWED_HOSTS</code> as they were when it was made, and loopback and private addresses. A name outside those needs a new authority: delete <code>DATA_DIR/tls/ca.*</code>, restart the server, and trust the new one on each device again. It lasts two years; 30 days before its end the server makes a new one, which each device must trust again. To stop trusting it, remove the profile (iPhone: Settings → General → VPN &amp; Device Management) or the certificate (Android: Settings → Encryption &amp; credentials → User credentials).</p>
</section>`;

export function renderSetupPage(v: SetupView): string {
  let body: string;
  if (v.mode === 'off') {
    body = `<p>Browsers install moviemosaic as an app, and keep it working offline, only on a secure (HTTPS) address. HTTPS is off on this server, so here a phone can use the site but not install it.</p>
<section>
<h2>Turn HTTPS on</h2>
<p>Restart the server with <code>HTTPS=1</code> (or <code>npm start -- --https</code>), then open this page again: it will guide each device through trusting the server.</p>
</section>
<section>
<h2>Open moviemosaic</h2>
${addressList(v)}
</section>`;
  } else {
    const already = v.secure
      ? `<section class="ok"><p>You opened this page over HTTPS. If the browser showed no warning, this device already trusts the server: open moviemosaic and install it.</p></section>\n`
      : '';
    const steps = v.mode === 'own-ca' && v.ca ? trustSteps(v, v.ca) : '';
    const n = steps ? 2 : 1;
    const intro =
      v.mode === 'own-ca'
        ? '<p>moviemosaic installs as an app and works offline only over HTTPS. This server signs its own certificates: trust it once on each device, then open the HTTPS address.</p>'
        : '<p>This server uses the certificate its owner installed (TLS_CERT), which devices trust already when it comes from a public authority. Open the HTTPS address and install the app.</p>';
    body = `${intro}
${already}${steps}
<section>
<h2>${n}. Open moviemosaic over HTTPS</h2>
${addressList(v)}
</section>
${installApp(n + 1)}
${v.mode === 'own-ca' ? ABOUT_CA : ''}`;
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Set up moviemosaic on this device</title>
<link rel="stylesheet" href="/setup/setup.css">
<link rel="icon" href="data:,">
</head>
<body>
<main>
<h1>Set up moviemosaic on this device</h1>
${body}
</main>
</body>
</html>
`;
}
