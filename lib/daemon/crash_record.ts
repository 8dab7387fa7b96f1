/**
 * A crash's record in the store, and the decision of which triggers act on it, kept
 * going when the store refuses writes (a full disk, a read-only one): the same policy
 * decides then, with the counters it could not write kept in memory, and the crash has
 * no history (id 0). Nothing here stops the actions.
 *
 * @module
 */
import type { Trigger } from "../core/trigger.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import { decide, type Decision, UnsavedCounters } from "../core/policy.ts";
import type { TriggerOutcome } from "../protocol/records.ts";
import { limitUidOf } from "../sys/subuid.ts";
import type { RecordCrashOptions, TriggerStore } from "../store/trigger_store.ts";

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

/** Records crashes in the store and decides their triggers, with or without the store. */
export class CrashRecorder {
  #store: TriggerStore;
  #onStoreFailure?: (err: unknown) => void;
  // Counters the store refused to write, on top of the stored ones.
  #unsaved: UnsavedCounters;

  /** Record into `store`; `onStoreFailure` is told of each write it refuses. */
  constructor(store: TriggerStore, onStoreFailure?: (err: unknown) => void) {
    this.#store = store;
    this.#onStoreFailure = onStoreFailure;
    this.#unsaved = new UnsavedCounters(store);
  }

  /**
   * Decide the triggers `only` selects for `crash` from the store, before it is recorded;
   * `undefined` while the store refuses writes (its counts lack the firings it could not
   * write, so a cooldown would not hold: {@linkcode CrashRecorder.record} decides then),
   * or when it cannot be read.
   */
  decideFirst(crash: CrashFacts, now: Date, only: (t: Trigger) => boolean): Decision[] | undefined {
    if (!this.#unsaved.empty) return undefined;
    try {
      return this.#store.decideCrash(crash, now, lttngDaemonVeto(crash), only);
    } catch {
      return undefined; // the store cannot be read: record decides with the counters in memory
    }
  }

  /**
   * Record `crash` (or join it to the record `options.into`) and decide; when the store
   * refuses, decide without it (or keep `options.decisions`, made already) and return id 0.
   */
  record(
    crash: CrashFacts,
    source: string,
    now: Date,
    options: RecordCrashOptions = {},
  ): { id: number; decisions: Decision[] } {
    if (options.into === 0) {
      return { id: 0, decisions: this.#decideWithoutStore(crash, now, options.only) };
    }
    try {
      return this.#store.recordCrash(crash, source, now, lttngDaemonVeto(crash), options);
    } catch (err) {
      this.#onStoreFailure?.(err);
      if (options.decisions !== undefined) {
        // Decided already, and acted on: the counts the store could not write are kept
        // (a subordinate uid's as its owner's, as the store keeps them).
        this.#unsaved.record(
          options.decisions,
          { ...crash, uid: limitUidOf(crash.uid) },
          now.getTime(),
        );
        return { id: 0, decisions: options.decisions };
      }
      return { id: 0, decisions: this.#decideWithoutStore(crash, now, options.only) };
    }
  }

  // The same policy as the store's, with the counters it could not write kept in memory,
  // per (trigger, uid) as the store keeps them.
  #decideWithoutStore(
    crash: CrashFacts,
    now: Date,
    only?: (t: Trigger) => boolean,
  ): Decision[] {
    let triggers: Trigger[];
    try {
      triggers = this.#store.listTriggers().filter((t) => only === undefined || only(t));
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

  /** Record a crash's outcome; a store that refuses the write is told of, not an error. */
  finish(id: number, outcome: string, results: TriggerOutcome[]): void {
    try {
      this.#store.finishCrash(id, outcome, results);
    } catch (err) {
      // The crash row exists (pending); a store that refuses writes must not stop the reply.
      this.#onStoreFailure?.(err);
    }
  }

  /** The crash's signature so far (lib/report/signature.ts), when the store can tell. */
  signature(id: number): string | undefined {
    try {
      return this.#store.crashSignature(id);
    } catch {
      return undefined;
    }
  }
}
