/**
 * The actions the triggers decided for a crash, run: a snapshot or a stop of a session,
 * one at a time per session (lib/daemon/action_queue.ts), each ending in the trigger's
 * outcome for the history.
 *
 * @module
 */
import {
  describeAction,
  snapshotNameFor,
  type Trigger,
  type TriggerAction,
} from "../core/trigger.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import type { Decision } from "../core/policy.ts";
import type { TriggerOutcome } from "../protocol/records.ts";
import type { SnapshotResult } from "../lttng/control.ts";
import { SessionActionQueue } from "./action_queue.ts";

/** The session actions the handler needs (an `LttngControl` in production). */
export interface SessionActions {
  /** Take a snapshot. */
  snapshot(session: string, name: string, action: TriggerAction & { type: "snapshot" }): Promise<
    SnapshotResult
  >;
  /** Stop a session. */
  stop(session: string): Promise<void>;
}

/** Runs the decided actions, one at a time per session, coalescing identical queued ones. */
export class TriggerActions {
  #actions: SessionActions;
  #monotonicNs?: () => number;
  #whileActing?: (crash: CrashFacts, done: Promise<unknown>) => void;
  #queue = new SessionActionQueue();

  /**
   * Run actions through `actions`; `monotonicNs` (CLOCK_MONOTONIC in nanoseconds), when
   * given, stamps when each began; `whileActing` is told of each as it starts on LTTng.
   */
  constructor(
    actions: SessionActions,
    monotonicNs?: () => number,
    whileActing?: (crash: CrashFacts, done: Promise<unknown>) => void,
  ) {
    this.#actions = actions;
    this.#monotonicNs = monotonicNs;
    this.#whileActing = whileActing;
  }

  /** Resolves once no action is queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Run the action `decision` allows for `crash` (none when it is not allowed: the
   * outcome says why it was skipped); resolves to the trigger's outcome, `failed` with the
   * reason when the action failed.
   */
  run(decision: Decision, crash: CrashFacts): Promise<TriggerOutcome> {
    const t: Trigger = decision.trigger;
    const base = { trigger: t.name, session: t.session, action: describeAction(t.action) };
    if (!decision.allowed) {
      return Promise.resolve({
        ...base,
        outcome: "skipped",
        reason: decision.reason ?? `rate policy (hit ${decision.uidHits ?? t.hits})`,
      });
    }
    const action = t.action;
    const started = performance.now();
    let startedNs: number | undefined;
    const run = () => {
      startedNs = this.#monotonicNs?.();
      const done = action.type === "snapshot"
        ? this.#actions.snapshot(t.session, snapshotNameFor(crash), action)
        : this.#actions.stop(t.session).then(() => undefined);
      this.#whileActing?.(crash, done);
      return done;
    };
    const stamp = () => startedNs === undefined ? {} : { startedNs };
    // Identical actions on one session coalesce while queued (see SessionActionQueue).
    const key = JSON.stringify(action);
    return this.#queue.submit<SnapshotResult | undefined>(t.session, key, run).then(
      (r): TriggerOutcome => ({
        ...base,
        outcome: "ok",
        durationMs: Math.round(performance.now() - started),
        ...stamp(),
        ...(r === undefined ? {} : { snapshot: r.location }),
      }),
      (err): TriggerOutcome => ({
        ...base,
        outcome: "failed",
        reason: err instanceof Error ? err.message : String(err),
        durationMs: Math.round(performance.now() - started),
        ...stamp(),
      }),
    );
  }
}
