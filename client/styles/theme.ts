/**
 * Design tokens and the document's own styles. Adopted into `document.adoptedStyleSheets` (CSSOM),
 * which the strict CSP (`style-src 'self'`) allows where a <style> element would be blocked.
 */
import { css, unsafeCSS } from 'lit';
import { PALETTE } from '../../common/palette.js';

/** The palette (palette.ts) and the document's own styles. */
export const theme = css`
  ${unsafeCSS(PALETTE)}
  html {
    background: var(--mm-bg);
    color: var(--mm-text);
    font-family: var(--mm-font);
    -webkit-text-size-adjust: 100%;
  }
  body {
    margin: 0;
    min-height: 100vh;
    min-height: 100dvh;
  }
`;

/** Puts the theme on the document (the only styles outside shadow roots). */
export function adoptTheme(doc: Document = document): void {
  const sheet = theme.styleSheet;
  if (sheet) doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
}
