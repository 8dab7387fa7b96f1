/**
 * How `show`, `history`, `watch` and `status` write what the chained crash handler
 * (`install --chain`) did with a crash. Every string from the record is escaped: none
 * reaches the terminal as a control.
 *
 * @module
 */
import type { ChainFate } from "../protocol/records.ts";
import { escaped } from "./common.ts";

/** `85 ms` under 10 s, `60 s` from there. */
export function durationText(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * What the run came to: `exit 0 after 85 ms`, `killed by SIGTERM after 3 ms`,
 * `killed after 60 s (timeout)`, `not run: REASON`.
 */
export function chainRunText(f: ChainFate): string {
  const after = `after ${durationText(f.durationMs)}`;
  if (f.outcome === "timeout") {
    // Exited, but whoever it handed the core to was still reading it at the deadline.
    return f.code !== undefined
      ? `exit ${f.code}, its core still being read ${after} (timeout)`
      : `killed ${after} (timeout)`;
  }
  if (f.outcome === "missing") return `not run: ${escaped(f.reason ?? "cannot start")}`;
  if (f.signal !== undefined) return `killed by ${escaped(f.signal)} ${after}`;
  return `exit ${f.code ?? "?"} ${after}`;
}

/** `show`'s line: `/lib/systemd/systemd-coredump: exit 0 after 85 ms`. */
export function chainShowText(f: ChainFate): string {
  return `${f.program === "" ? "(no program)" : escaped(f.program)}: ${chainRunText(f)}`;
}

/** `history`'s suffix: `chain: ok 12 ms`, `chain: failed exit 1 4 ms`, `chain: timeout 60 s`. */
export function chainHistoryText(f: ChainFate): string {
  const how = f.outcome === "failed"
    ? f.signal !== undefined ? ` ${escaped(f.signal)}` : ` exit ${f.code ?? "?"}`
    : "";
  return `chain: ${f.outcome}${how} ${durationText(f.durationMs)}`;
}
