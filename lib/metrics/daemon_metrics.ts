/**
 * lttng-trig's own metrics (docs/METRICS.md lists them): what the daemon counts of its
 * crashes, actions, holds, reports and the notifier's failures. Labels take a few fixed
 * values only (outcome words, action types): never a pid, an executable or a session,
 * which would make one series per crash.
 *
 * @module
 */
import { Counter, Gauge, Histogram, MetricsRegistry } from "./exposition.ts";

/** Upper bounds, in seconds, of the duration histograms: 5 ms to the notifier's 10 s hold. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A crash's outcome words (lib/daemon/crash_handler.ts), each a series from the start. */
const CRASH_OUTCOMES = ["ok", "failed", "skipped", "no-trigger"] as const;
/** Action types and results (a trigger's outcome). */
const ACTIONS = ["snapshot", "stop"] as const;
const ACTION_RESULTS = ["ok", "failed", "skipped"] as const;
/** Report states (lib/daemon/report_queue.ts). */
const REPORT_STATES = ["ready", "failed"] as const;

/**
 * Why a notifier run failed, as `notifier_failures_total{reason}` counts it: one fixed
 * word per kind of line the notifier journals in STATE_DIR/notifier.log.
 */
export const NOTIFIER_FAILURE_REASONS = [
  "no-daemon",
  "timeout",
  "delivery",
  "held-cap",
  "arguments",
  "chain",
  "other",
] as const;

/** One of {@linkcode NOTIFIER_FAILURE_REASONS}. */
export type NotifierFailureReason = typeof NOTIFIER_FAILURE_REASONS[number];

/**
 * The reason word of one failure line of the notifier's journal (lib/notify/notifier.ts,
 * args.ts and chain_release.ts write them); `other` for a line of no known kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notifierFailureReason } from "./daemon_metrics.ts";
 * assert.equal(notifierFailureReason("no root daemon: connection refused"), "no-daemon");
 * ```
 */
export function notifierFailureReason(line: string): NotifierFailureReason {
  if (line.startsWith("no root daemon:")) return "no-daemon";
  if (/^(root|user) daemon at .*: actions did not finish in time$/.test(line)) return "timeout";
  if (/^(root|user) daemon at /.test(line)) return "delivery";
  if (/^uid \S+ has \d+ crashes held already/.test(line)) return "held-cap";
  if (/^(chained handler|cannot tell the daemons|cannot journal the chained)/.test(line)) {
    return "chain";
  }
  if (/^(ignored |expected %p|bad (pid|uid)|ambiguous split)/.test(line)) return "arguments";
  return "other";
}

/** One trigger's outcome, as the crash handler reports it. */
export interface ActionOutcome {
  /** The action as history describes it: `snapshot …` or `stop`. */
  action: string;
  /** `ok`, `failed` or `skipped`. */
  outcome: string;
  /** How long it ran, in milliseconds (absent when skipped). */
  durationMs?: number;
}

/**
 * The daemon's metrics, updated as crashes finish; {@linkcode DaemonMetrics.render}
 * gives the file node_exporter reads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DaemonMetrics } from "./daemon_metrics.ts";
 * const m = new DaemonMetrics("0.1.0");
 * m.crashFinished("ok", [{ action: "snapshot", outcome: "ok", durationMs: 40 }]);
 * assert.match(m.render(), /^lttng_trig_crashes_total\{outcome="ok"\} 1$/m);
 * ```
 */
export class DaemonMetrics {
  #registry = new MetricsRegistry();
  #crashes: Counter;
  #actions: Counter;
  #actionDuration: Histogram;
  #holdDuration: Histogram;
  #notifierFailures: Counter;
  #reports: Counter;

  /** The metrics of a daemon of this `version`, every known series at 0. */
  constructor(version: string) {
    const r = this.#registry;
    this.#crashes = r.add(
      new Counter(
        "lttng_trig_crashes_total",
        "Crashes the daemon received, by outcome (ok, failed, skipped, no-trigger).",
        ["outcome"],
      ),
    );
    this.#actions = r.add(
      new Counter(
        "lttng_trig_actions_total",
        "Trigger actions for crashes, by action (snapshot, stop) and result (ok, failed, skipped).",
        ["action", "result"],
      ),
    );
    this.#actionDuration = r.add(
      new Histogram(
        "lttng_trig_action_duration_seconds",
        "How long each action that ran took, in seconds.",
        DURATION_BUCKETS,
      ),
    );
    this.#holdDuration = r.add(
      new Histogram(
        "lttng_trig_hold_duration_seconds",
        "How long the daemon held each crashed process, from the crash's arrival to its release, in seconds.",
        DURATION_BUCKETS,
      ),
    );
    this.#notifierFailures = r.add(
      new Counter(
        "lttng_trig_notifier_failures_total",
        "Failures the notifier journalled in notifier.log since the daemon started, by reason.",
        ["reason"],
      ),
    );
    this.#reports = r.add(
      new Counter(
        "lttng_trig_reports_total",
        "Crash reports (backtraces of kept cores) stored, by state (ready, failed).",
        ["state"],
      ),
    );
    r.add(new Gauge("lttng_trig_build_info", "The running lttng-trig's version.", ["version"]))
      .set({ version }, 1);
    for (const outcome of CRASH_OUTCOMES) this.#crashes.inc({ outcome }, 0);
    for (const action of ACTIONS) {
      for (const result of ACTION_RESULTS) this.#actions.inc({ action, result }, 0);
    }
    for (const reason of NOTIFIER_FAILURE_REASONS) this.#notifierFailures.inc({ reason }, 0);
    for (const state of REPORT_STATES) this.#reports.inc({ state }, 0);
  }

  /** Count a finished crash and its actions. */
  crashFinished(outcome: string, results: readonly ActionOutcome[]): void {
    this.#crashes.inc({ outcome });
    for (const r of results) {
      // Only the action's type: its options (paths, URLs) would be one series each.
      const action = r.action.split(" ")[0];
      this.#actions.inc({ action, result: r.outcome });
      if (r.durationMs !== undefined) this.#actionDuration.observe(r.durationMs / 1000);
    }
  }

  /** Count one release of a held crash, `ms` after it arrived. */
  released(ms: number): void {
    this.#holdDuration.observe(ms / 1000);
  }

  /** Count a stored report. */
  reportStored(state: string): void {
    this.#reports.inc({ state });
  }

  /** Count the failure lines of one notifier journal entry. */
  notifierFailed(lines: readonly string[]): void {
    for (const line of lines) this.#notifierFailures.inc({ reason: notifierFailureReason(line) });
  }

  /** The metrics in Prometheus's text format. */
  render(): string {
    return this.#registry.render();
  }
}
