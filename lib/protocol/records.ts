/**
 * The records that describe a crash and what became of it: the crash's facts, each
 * trigger's outcome, the core's fate, and the crash as the history keeps it. Plain data,
 * shared by the daemon, the store, the client, the CLI and the library, so that none of
 * them imports the store to name them.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";

/**
 * One frame of a thread's backtrace, innermost first.
 *
 * @example
 * ```ts
 * import type { Frame } from "./records.ts";
 * // A frame as gdb prints it: #0 0x401136 in crash (x=0) at crasher.c:12
 * const frame: Frame = { pc: "0x401136", function: "crash", module: "/usr/bin/crasher" };
 * ```
 */
export interface Frame {
  /** The program counter, as `0x` and lowercase hex (64-bit values do not fit a number). */
  pc: string;
  /** The function's name, when the module has symbols. */
  function?: string;
  /**
   * Offset in `module` (`0x` hex) of the pc, or of the call instruction (pc - 1) for an
   * outer frame: what `eu-addr2line -e MODULE OFFSET` takes, symbols or not.
   */
  offset?: string;
  /** The module (executable or shared library) the pc is in. */
  module?: string;
}

/**
 * The backtrace of one thread.
 *
 * @example
 * ```ts
 * import type { ThreadBacktrace } from "./records.ts";
 * const top = (t: ThreadBacktrace) => t.frames[0]?.function ?? "??";
 * ```
 */
export interface ThreadBacktrace {
  /** Its tid (in the crashed process's pid namespace, as in the core). */
  tid: number;
  /** Its frames, innermost first, at most the report's maxFrames. */
  frames: Frame[];
}

/**
 * The state of a crash's report: computed later than the crash, so pending first.
 *
 * @example
 * ```ts
 * import type { ReportState } from "./records.ts";
 * const done = (state: ReportState) => state !== "pending";
 * ```
 */
export type ReportState = "pending" | "ready" | "failed";

/**
 * What happened to one trigger for one crash.
 *
 * @example
 * ```ts
 * import type { TriggerOutcome } from "./records.ts";
 * const said = (o: TriggerOutcome) => `${o.trigger} on ${o.session}: ${o.outcome}${o.reason ? ` (${o.reason})` : ""}`;
 * ```
 */
export interface TriggerOutcome {
  /** Trigger name. */
  trigger: string;
  /** Session acted on. */
  session: string;
  /** `snapshot` or `stop`. */
  action: string;
  /** `ok`, `failed` or `skipped` (rate policy and the like). */
  outcome: "ok" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  reason?: string;
  /** The snapshot's location, for a snapshot that was taken. */
  snapshot?: string;
  /** How long the action took, in milliseconds. */
  durationMs?: number;
  /**
   * When the action began: CLOCK_MONOTONIC, in nanoseconds (the clock of the kernel's
   * process-connector timestamps), when the daemon reads that clock.
   */
  startedNs?: number;
  /** The snapshot was removed since, by retention (lib/daemon/snapshot_retention.ts). */
  removed?: SnapshotRemoved;
}

/**
 * When and why retention removed a snapshot.
 *
 * @example
 * ```ts
 * import type { SnapshotRemoved } from "./records.ts";
 * const said = (r: SnapshotRemoved) => `removed at ${r.time}: ${r.reason}`;
 * ```
 */
export interface SnapshotRemoved {
  /** When (ISO 8601). */
  time: string;
  /** Why, in a sentence. */
  reason: string;
}

/**
 * What happened to a crash's core.
 *
 * @example
 * ```ts
 * import type { CoreFate } from "./records.ts";
 * const said = (c: CoreFate) => c.kept ? `core kept in ${c.path} (${c.bytes} bytes)` : `core not kept: ${c.reason}`;
 * ```
 */
export interface CoreFate {
  /** Whether it was kept. */
  kept: boolean;
  /** The kept core's path. */
  path?: string;
  /** Why it was not kept. */
  reason?: string;
  /** Core bytes the notifier read. */
  bytes: number;
}

/**
 * What the chained crash handler (`install --chain`) did with a crash, as the notifier
 * tells the daemon after it ends (CHAIN_RESULT) and journals it in STATE_DIR/chain.log.
 *
 * @example
 * ```ts
 * import type { ChainFate } from "./records.ts";
 * const ok = (c: ChainFate) => c.outcome === "ok";
 * ```
 */
export interface ChainFate {
  /** The program run (argv[0]), or `""` when none could be named. */
  program: string;
  /**
   * `ok` (exit 0), `failed` (a non-zero exit or a signal), `timeout` (killed at its
   * deadline), `missing` (could not be started).
   */
  outcome: "ok" | "failed" | "timeout" | "missing";
  /** Its exit status, when it exited. */
  code?: number;
  /** The signal that ended it (`SIGKILL`, or the number for an unnamed one), when one did. */
  signal?: string;
  /** Milliseconds from its start to its end (or to the failed start). */
  durationMs: number;
  /** Core bytes it was given. */
  bytes: number;
  /** What went wrong, for any outcome but `ok`. */
  reason?: string;
}

/**
 * One crash in the history: what the kernel and the process told, and what each trigger did.
 *
 * @example
 * ```ts
 * import type { CrashRecord } from "./records.ts";
 * function summary(c: CrashRecord): string {
 *   return `#${c.id} ${c.execName} (pid ${c.pid}, uid ${c.uid}) at ${c.time}: ${c.outcome}`;
 * }
 * ```
 */
export interface CrashRecord extends CrashFacts {
  /** History id. */
  id: number;
  /** When the daemon received it (ISO 8601). */
  time: string;
  /** Where it came from: `notify` (pipe helper), `socket`... */
  source: string;
  /** `pending`, `ok`, `failed`, `no-trigger`, `skipped`, `interrupted`. */
  outcome: string;
  /** Per-trigger outcomes. */
  results: TriggerOutcome[];
  /** Extra detail. */
  detail?: string;
  /** What happened to the core, when the notifier kept it or tried to. */
  core?: CoreFate;
  /** What the chained crash handler did (`install --chain`), once it ended. */
  chain?: ChainFate;
  /**
   * The crash report computed from the kept core: `history` carries its state (and why it
   * failed), `show` all of it.
   */
  report?: ReportRecord;
  /**
   * The crash's signature (lib/report/signature.ts): shared by the crashes at one site.
   * Absent while its report is pending, and for crashes recorded before schema 4.
   */
  signature?: string;
}

/**
 * The crashes of one signature, as `history --by-signature` lists them.
 *
 * @example
 * ```ts
 * import type { SignatureGroup } from "./records.ts";
 * const said = (g: SignatureGroup) => `${g.count} crashes of ${g.execName} at ${g.signature}, first ${g.first}`;
 * ```
 */
export interface SignatureGroup {
  /** The signature. */
  signature: string;
  /** How many crashes in the history have it. */
  count: number;
  /** When the first was received (ISO 8601). */
  first: string;
  /** When the last was received (ISO 8601). */
  last: string;
  /** The history id of the last one: an example to `show`. */
  example: number;
  /** That crash's exec name. */
  execName: string;
  /** That crash's innermost named frame's function, when its report has one. */
  function?: string;
}

/**
 * A crash that reached no daemon (the notifier journaled it in STATE_DIR/notifier.log),
 * for the history: imported at the daemon's next start.
 *
 * @example
 * ```ts
 * import type { MissedCrash } from "./records.ts";
 * const said = (m: MissedCrash) => `${m.facts.execName} (pid ${m.facts.pid}) at ${m.time}: ${m.detail}`;
 * ```
 */
export interface MissedCrash {
  /** What the notifier knew of it. */
  facts: CrashFacts;
  /** When the notifier journaled it (ISO 8601). */
  time: string;
  /** Why no trigger ran. */
  detail: string;
}

/**
 * A crash's report as the store keeps it: `pending` once a kept core is known, then
 * `ready` (the backtraces, possibly partial: see `missing`) or `failed` (see `reason`).
 *
 * @example
 * ```ts
 * import type { ReportRecord } from "./records.ts";
 * const crashing = (r: ReportRecord) => r.threads?.find((t) => t.tid === r.crashingTid);
 * ```
 */
export interface ReportRecord {
  /** Where the report stands. */
  state: ReportState;
  /** Why it failed. */
  reason?: string;
  /** The crashing thread's tid. */
  crashingTid?: number;
  /** Every thread's backtrace (bounded), the crashing one first. */
  threads?: ThreadBacktrace[];
  /** What the report lacks, one sentence each. */
  missing?: string[];
  /** How long the backtrace took, in milliseconds. */
  durationMs?: number;
  /** When the report was stored (ISO 8601). */
  time?: string;
}

/**
 * The fate to record for a core, from what the notifier or the coredump server says of it:
 * `text` is the kept core's path, or why it was not kept.
 *
 * @example
 * ```ts
 * import { coreFate } from "./records.ts";
 *
 * coreFate({ kept: false, text: "no space left", bytes: 0 });
 * // => { kept: false, reason: "no space left", bytes: 0 }
 * ```
 */
export function coreFate(outcome: { kept: boolean; text: string; bytes: number }): CoreFate {
  return outcome.kept
    ? { kept: true, path: outcome.text, bytes: outcome.bytes }
    : { kept: false, reason: outcome.text, bytes: outcome.bytes };
}
