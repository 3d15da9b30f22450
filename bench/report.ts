/** Shared printing for `npm run bench`: one aligned line per figure. */
export function report(what: string, figure: string, note = ''): void {
  console.log(`${what.padEnd(52)} ${figure}${note ? `   [${note}]` : ''}`);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
