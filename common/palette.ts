/**
 * The colour tokens as plain CSS text, with no Lit: the app's theme adopts them, and the server's own
 * pages (the 404) serve them as a stylesheet, so both look the same.
 * Colours checked for WCAG AA: text ≥ 4.5:1 (body text ≥ 13:1) on every background it sits on.
 */
export const PALETTE = `
  :root {
    color-scheme: light dark;
    --mm-bg: #f6f5f2;
    --mm-surface: #ffffff;
    --mm-surface-2: #ecebe6;
    --mm-text: #1b1c20;
    --mm-muted: #55575e;
    --mm-border: #c9c8c2;
    /* Outlines of inputs and buttons: ≥ 3:1 against surface and background (WCAG 1.4.11). */
    --mm-control-border: #84837f;
    --mm-accent: #a84300;
    --mm-accent-text: #ffffff;
    --mm-focus: #1f5fbf;
    --mm-danger: #a3191b;
    --mm-danger-bg: #fdecea;
    --mm-warn-bg: #fff4d6;
    --mm-warn-text: #5c4300;
    --mm-ok: #1d6b36;
    --mm-radius: 10px;
    --mm-gap: 16px;
    --mm-max: 1100px;
    --mm-font: system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --mm-bg: #14161b;
      --mm-surface: #1d2027;
      --mm-surface-2: #272b34;
      --mm-text: #ecebe8;
      --mm-muted: #aeb0b8;
      --mm-border: #3d424e;
      --mm-control-border: #737889;
      --mm-accent: #ff9a3c;
      --mm-accent-text: #14161b;
      --mm-focus: #8ab4ff;
      --mm-danger: #ff8a80;
      --mm-danger-bg: #3a1d1f;
      --mm-warn-bg: #3a3018;
      --mm-warn-text: #ffe08a;
      --mm-ok: #7fd69a;
    }
  }
`;
