/** Styles shared by components: form controls, buttons, cards, focus rings, helpers. */
import { css } from 'lit';

export const base = css`
  :host {
    box-sizing: border-box;
    color: var(--mm-text);
    font-family: var(--mm-font);
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  [hidden] {
    display: none !important;
  }
  a {
    color: var(--mm-accent);
    text-underline-offset: 0.15em;
  }
  :focus-visible {
    outline: 3px solid var(--mm-focus);
    outline-offset: 2px;
  }
  h1,
  h2,
  h3 {
    line-height: 1.2;
    margin: 0 0 0.5em;
  }
  h1 {
    font-size: clamp(1.5rem, 1.2rem + 1.5vw, 2.1rem);
  }
  h2 {
    font-size: 1.25rem;
  }
  h1:focus {
    outline: none;
  }
  .visually-hidden {
    position: absolute !important;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .muted {
    color: var(--mm-muted);
  }
`;

export const controls = css`
  button,
  .button {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.4em;
    min-height: 44px;
    padding: 0.55em 1.1em;
    border-radius: var(--mm-radius);
    border: 1px solid var(--mm-control-border);
    background: var(--mm-surface);
    color: var(--mm-text);
    font: inherit;
    font-weight: 600;
    text-decoration: none;
    cursor: pointer;
  }
  button:hover,
  .button:hover {
    background: var(--mm-surface-2);
  }
  button.primary,
  .button.primary {
    background: var(--mm-accent);
    border-color: var(--mm-accent);
    color: var(--mm-accent-text);
  }
  button.primary:hover,
  .button.primary:hover {
    filter: brightness(1.08);
  }
  button[disabled] {
    opacity: 0.6;
    cursor: not-allowed;
  }
  button.link {
    min-height: 0;
    padding: 0;
    border: 0;
    background: none;
    color: var(--mm-accent);
    text-decoration: underline;
    font-weight: inherit;
  }
  input,
  select {
    font: inherit;
    color: var(--mm-text);
    background: var(--mm-surface);
    border: 1px solid var(--mm-control-border);
    border-radius: 8px;
    min-height: 44px;
    padding: 0.45em 0.7em;
  }
  input[aria-invalid='true'] {
    border-color: var(--mm-danger);
    box-shadow: 0 0 0 1px var(--mm-danger);
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.6em;
  }
`;

export const card = css`
  .card {
    background: var(--mm-surface);
    border: 1px solid var(--mm-border);
    border-radius: var(--mm-radius);
    padding: var(--mm-gap);
  }
`;
