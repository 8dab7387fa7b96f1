/**
 * The benchmark's statistics and number formatting (bench/report.ts writes the Markdown).
 *
 * @module
 */

/** Order statistics of a series of measurements. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
}

/** Median, min, max, p50 and p99 of the finite values of `values` (NaN when none). */
export function summarize(values: number[]): Summary {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n, median: NaN, min: NaN, max: NaN, p50: NaN, p99: NaN };
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const rank = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  return { n, median, min: s[0], max: s[n - 1], p50: rank(0.5), p99: rank(0.99) };
}

/** The median of the finite values of `values`. */
export function median(values: number[]): number {
  return summarize(values).median;
}

/** `v` with `digits` decimals, or "-" when it is not a number. */
export function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "-";
}

/** `v` with its sign always written ("+1.0", "-0.5"). */
export function signed(v: number, digits = 1): string {
  return (v >= 0 ? "+" : "") + num(v, digits);
}
