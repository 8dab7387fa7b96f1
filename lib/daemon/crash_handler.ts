/**
 * What the daemon does with one crash: record it, decide which triggers act, run their
 * actions (one at a time per session), and record the outcome.
 *
 * @module
 */
import { describeAction, snapshotNameFor, type Trigger, type TriggerAction } from "../trigger.ts";
import type { CrashFacts, TriggerOutcome } from "../protocol/records.ts";
import { decide, type Decision, UnsavedCounters } from "../policy.ts";
import { limitUidOf } from "../subuid.ts";
import type { TriggerStore } from "../store/trigger_store.ts";
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

/** The outcome of one crash, as the notifier's reply needs it. */
export interface CrashOutcome {
  /** History id. */
  id: number;
  /** Triggers whose action ran. */
  fired: number;
  /** Of those, how many failed. */
  failed: number;
  /** Per-trigger outcomes. */
  results: TriggerOutcome[];
  /** The history outcome word. */
  outcome: string;
}

/** A listener told of every crash as it arrives, before its actions (for `watch`). */
export type ReceivedListener = (
  crash: CrashFacts & { id: number; source: string; time: string },
) => void;

/** A listener told of every finished crash (for `watch`). */
export type CrashListener = (
  crash: CrashFacts & CrashOutcome & { source: string; signature?: string },
) => void;

/** Options of {@linkcode CrashHandler}. */
export interface CrashHandlerOptions {
  /** The durable store. */
  store: TriggerStore;
  /** The session actions. */
  actions: SessionActions;
  /** Clock. @default () => new Date() */
  now?: () => Date;
  /** Told when the store refuses a write (the crash is still acted on). */
  onStoreFailure?: (err: unknown) => void;
}

// LTTng's own daemons: acting on a session while one of them is frozen in its core dump
// would block until the dump is released, which waits on us.
const LTTNG_DAEMONS = /^lttng-(sessiond|consumerd|relayd)$/;

/**
 * Why no action may touch this crash, if it is one of LTTng's own daemons: by its exec
 * name, or by its executable's path (a crash in a thread reports the thread's name, e.g.
 * lttng-sessiond's "Client manageme").
 */
export function lttngDaemonVeto(crash: CrashFacts): string | undefined {
  const name = [crash.execName, crash.exePath?.split("/").pop() ?? ""].find((n) =>
    LTTNG_DAEMONS.test(n)
  );
  return name === undefined
    ? undefined
    : `the crashed process is LTTng's own ${name}: acting could block on it`;
}

/** Handles crashes. */
export class CrashHandler {
  #store: TriggerStore;
  #actions: SessionActions;
  #queue = new SessionActionQueue();
  #now: () => Date;
  #onStoreFailure?: (err: unknown) => void;
  #listeners = new Set<CrashListener>();
  #received = new Set<ReceivedListener>();
  // Counters the store refused to write, on top of the stored ones.
  #unsaved: UnsavedCounters;

  /** Build a handler. */
  constructor(options: CrashHandlerOptions) {
    this.#store = options.store;
    this.#actions = options.actions;
    this.#now = options.now ?? (() => new Date());
    this.#onStoreFailure = options.onStoreFailure;
    this.#unsaved = new UnsavedCounters(this.#store);
  }

  /** Subscribe to finished crashes; returns the unsubscribe function. */
  listen(listener: CrashListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // The same policy as the store's, with the counters it could not write kept in memory,
  // per (trigger, uid) as the store keeps them.
  #decideWithoutStore(crash: CrashFacts, now: Date): Decision[] {
    let triggers: Trigger[];
    try {
      triggers = this.#store.listTriggers();
    } catch {
      return [];
    }
    const at = now.getTime();
    const limitUid = limitUidOf(crash.uid);
    const decisions = decide(this.#unsaved.apply(triggers), crash, this.#unsaved, {
      now: at,
      veto: lttngDaemonVeto(crash),
      limitUid,
    });
    this.#unsaved.record(decisions, { ...crash, uid: limitUid }, at);
    return decisions;
  }

  /** Subscribe to crashes as they arrive; returns the unsubscribe function. */
  listenReceived(listener: ReceivedListener): () => void {
    this.#received.add(listener);
    return () => this.#received.delete(listener);
  }

  /** Resolves once no action is queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Record `crash`, run the actions it fires, and resolve when they are done.
   *
   * `onRelease` is called as soon as the crashed process may be released: when every
   * action that needs it held (a snapshot, which must catch its buffers) has finished.
   * A stop action does not hold it: LTTng's stop waits on every traced process, the
   * frozen one included, so holding it would only delay the stop by the session
   * daemon's app timeout (5 s).
   *
   * `onRecorded` is called with the crash's history id as soon as it is recorded, before
   * any action (not at all when the store refused it): the id that follow-ups name.
   */
  async handle(
    crash: CrashFacts,
    source: string,
    onRelease?: (release: { fired: number; failed: number }) => void,
    onRecorded?: (id: number) => void,
  ): Promise<CrashOutcome> {
    const now = this.#now();
    let id = 0;
    let decisions: Decision[];
    try {
      ({ id, decisions } = this.#store.recordCrash(crash, source, now, lttngDaemonVeto(crash)));
    } catch (err) {
      // A store that cannot be written (full disk, read-only) must not stop the actions:
      // decide by the same policy, with the counters kept in memory; no history then.
      decisions = this.#decideWithoutStore(crash, now);
      this.#onStoreFailure?.(err);
    }
    if (id !== 0) onRecorded?.(id);
    for (const l of this.#received) {
      try {
        l({ ...crash, id, source, time: now.toISOString() });
      } catch { /* a listener's failure is its own */ }
    }
    const pending = decisions.map((d) => this.#act(d, crash));
    const holding = pending.filter((_, i) => decisions[i].trigger.action.type !== "stop");
    const released = Promise.all(holding).then((held) => {
      const fired = decisions.filter((d) => d.allowed).length;
      const failed = held.filter((r) => r.outcome === "failed").length;
      onRelease?.({ fired, failed });
    });
    const results = await Promise.all(pending);
    await released;
    const fired = results.filter((r) => r.outcome !== "skipped").length;
    const failed = results.filter((r) => r.outcome === "failed").length;
    const outcome = decisions.length === 0
      ? "no-trigger"
      : failed > 0
      ? "failed"
      : fired === 0
      ? "skipped"
      : "ok";
    if (id !== 0 && decisions.length > 0) {
      try {
        this.#store.finishCrash(id, outcome, results);
      } catch (err) {
        // The crash row exists (pending); a store that refuses writes must not stop the reply.
        this.#onStoreFailure?.(err);
      }
    }
    // The signature so far (lib/report/signature.ts): a report from the core may refine it.
    const signature = id === 0 ? undefined : this.#signature(id);
    const done = {
      ...crash,
      id,
      fired,
      failed,
      results,
      outcome,
      source,
      ...(signature === undefined ? {} : { signature }),
    };
    for (const l of this.#listeners) {
      try {
        l(done);
      } catch { /* a listener's failure is its own */ }
    }
    return { id, fired, failed, results, outcome };
  }

  #signature(id: number): string | undefined {
    try {
      return this.#store.crashSignature(id);
    } catch {
      return undefined;
    }
  }

  #act(decision: Decision, crash: CrashFacts): Promise<TriggerOutcome> {
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
    const run = action.type === "snapshot"
      ? () => this.#actions.snapshot(t.session, snapshotNameFor(crash), action)
      : () => this.#actions.stop(t.session).then(() => undefined);
    // Identical actions on one session coalesce while queued (see SessionActionQueue).
    const key = JSON.stringify(action);
    return this.#queue.submit<SnapshotResult | undefined>(t.session, key, run).then(
      (r): TriggerOutcome => ({
        ...base,
        outcome: "ok",
        durationMs: Math.round(performance.now() - started),
        ...(r === undefined ? {} : { snapshot: r.location }),
      }),
      (err): TriggerOutcome => ({
        ...base,
        outcome: "failed",
        reason: err instanceof Error ? err.message : String(err),
        durationMs: Math.round(performance.now() - started),
      }),
    );
  }
}
