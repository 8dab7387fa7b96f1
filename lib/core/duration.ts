/**
 * Durations as lttng-trig's options write them (`30s`, `5m`, `30d`): a leaf module, so
 * that the notifier's core keeper reads `.limits.json`'s `maxAge` without the trigger
 * model.
 *
 * @module
 */

/**
 * Parse a duration: `500ms`, `30s`, `5m`, `1h`, `2d`; throws `SyntaxError` naming the
 * accepted forms.
 */
export function parseDuration(text: string): number {
  const m = /^(\d{1,12})(ms|s|m|h|d)$/.exec(text);
  if (m === null || Number(m[1]) === 0) {
    throw new SyntaxError(
      `Invalid duration "${text}": expected a positive number with ms, s, m, h or d (e.g. 30s, 5m)`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
  return Number(m[1]) * unit;
}

/** Render milliseconds as the shortest exact duration (`90s`, `5m`, `1h`). */
export function formatDuration(ms: number): string {
  for (
    const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const
  ) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
