/**
 * The setup page's stylesheet, served as /setup/setup.css (the CSP allows no inline style). A string
 * rather than a .css file beside this one: esbuild bundles the server into one file, and a file read
 * next to the source would not be there in dist/.
 */
export const SETUP_CSS = `:root {
  color-scheme: light dark;
  --fg: #1b1b1f;
  --muted: #5b5b66;
  --bg: #fafafa;
  --card: #ffffff;
  --line: #dcdce3;
  --accent: #0a6c4f;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #ececf1; --muted: #a4a4b3; --bg: #131316; --card: #1d1d22; --line: #34343d; --accent: #5fd3a8; }
}
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
main { max-width: 44rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.2; margin: 0.5rem 0 0.75rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.5rem; }
p, ol, ul { margin: 0.5rem 0; }
li { margin: 0.25rem 0; }
a { color: var(--accent); }
code { font: 0.9em ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
section {
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: 12px;
  padding: 1rem 1.1rem;
  margin: 1rem 0;
}
.note { color: var(--muted); font-size: 0.95rem; }
.ok { border-color: var(--accent); }
.downloads { display: flex; flex-wrap: wrap; gap: 0.5rem; padding: 0; list-style: none; }
.downloads a {
  display: inline-block;
  padding: 0.55rem 0.9rem;
  border: 1px solid var(--accent);
  border-radius: 999px;
  text-decoration: none;
  font-weight: 600;
}
.addresses { padding-left: 1.2rem; }
.addresses a { font-size: 1.1rem; overflow-wrap: anywhere; }
.qr { display: block; width: 14rem; height: 14rem; margin: 0.75rem 0; background: #fff; border-radius: 8px; }
details { border-top: 1px solid var(--line); padding: 0.5rem 0; }
details:first-of-type { border-top: 0; }
summary { cursor: pointer; font-weight: 600; }
.fingerprint { display: block; padding: 0.5rem; border-radius: 6px; background: var(--bg); }
`;
