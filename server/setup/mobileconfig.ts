/**
 * An iOS/iPadOS configuration profile that installs the local CA (a `com.apple.security.root`
 * payload holding the DER certificate; no PKCS#12, no private key). Unsigned: iOS labels it so and
 * still installs it. The identifiers derive from the certificate, so downloading it again replaces
 * the installed profile instead of adding a second one, and a new CA gets a profile of its own.
 */
import { createHash } from 'node:crypto';

/** A UUID-shaped string from a hash (version nibble 5, RFC 4122 variant), stable for the same input. */
function uuidFrom(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('').toUpperCase();
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function caProfile(opts: { der: Buffer; caName: string; hostname: string }): string {
  const digest = createHash('sha256').update(opts.der).digest('hex');
  const id = `local.moviemosaic.ca.${digest.slice(0, 16)}`;
  const b64 = opts.der.toString('base64').replace(/.{1,64}/g, '\t\t\t$&\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>moviemosaic-ca.cer</string>
			<key>PayloadContent</key>
			<data>
${b64}			</data>
			<key>PayloadDescription</key>
			<string>Adds the certificate authority of the moviemosaic server on ${xml(opts.hostname)}.</string>
			<key>PayloadDisplayName</key>
			<string>${xml(opts.caName)}</string>
			<key>PayloadIdentifier</key>
			<string>${id}.root</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>${uuidFrom(createHash('sha256').update(`${digest}:root`).digest('hex'))}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Lets this device open the moviemosaic server on ${xml(opts.hostname)} over HTTPS. After installing, turn on full trust in Settings → General → About → Certificate Trust Settings.</string>
	<key>PayloadDisplayName</key>
	<string>moviemosaic (${xml(opts.hostname)})</string>
	<key>PayloadIdentifier</key>
	<string>${id}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>${uuidFrom(digest)}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
`;
}
