/**
 * The crashes the notifier journaled in STATE_DIR/notifier.log that no root daemon got
 * (it was down or restarting), as the history records them when the daemon starts again:
 * outcome `missed`, saying why no trigger ran. Not loaded by the notifier.
 *
 * @module
 */
import type { MissedCrash } from "../protocol/records.ts";
import type { JournalEntry } from "./io.ts";

/** `(uid_t)-1`: a uid or gid that is not known. */
const UNKNOWN_ID = 0xffff_ffff;

/**
 * Did no root daemon get the crash of `entry`? Said by `rootMissed` since lttng-trig
 * journals it, and by the failure "no root daemon: ..." in older journals.
 */
export function missedByRootDaemon(entry: JournalEntry): boolean {
  return entry.rootMissed === true ||
    entry.failures.some((f) => f.startsWith("no root daemon:"));
}

/**
 * The missed crashes of `entries`, for {@linkcode MissedCrash} import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { missedCrashes } from "./missed.ts";
 *
 * const [c] = missedCrashes([{
 *   time: "2026-12-04T03:00:00.000Z", pid: 42, uid: 0, exec: "app",
 *   failures: ["no root daemon: /var/run/lttng/notify-lttng-sessiond does not exist"],
 * }]);
 * assert.equal(c.facts.pid, 42);
 * assert.match(c.detail, /^no trigger ran: no lttng-trig daemon was running/);
 * ```
 */
export function missedCrashes(entries: readonly JournalEntry[]): MissedCrash[] {
  return entries.filter(missedByRootDaemon).map((e) => ({
    time: e.time,
    facts: {
      pid: e.pid,
      uid: e.uid ?? UNKNOWN_ID,
      gid: e.gid ?? UNKNOWN_ID,
      execName: e.exec,
      hostname: e.host ?? "",
      ...(e.signal === undefined ? {} : { signal: e.signal }),
    },
    detail:
      `no trigger ran: no lttng-trig daemon was running when it crashed (the notifier journaled: ${
        e.failures.join("; ")
      })`,
  }));
}
