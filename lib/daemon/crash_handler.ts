/**
 * What the daemon does with one crash: record it and decide which triggers act
 * (lib/daemon/crash_record.ts), run their actions (lib/daemon/trigger_actions.ts), release
 * the crash once the actions that hold it are done, record the outcome and tell the
 * listeners; and join an early crash (lib/daemon/early_path.ts) to its helper's.
 *
 * @module
 */
import type { Trigger } from "../core/trigger.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import type { Decision } from "../core/policy.ts";
import { Listeners } from "../core/listeners.ts";
import type { TriggerOutcome } from "../protocol/records.ts";
import type { TriggerStore } from "../store/trigger_store.ts";
import { joinedFacts, needsHelperFacts } from "./early_join.ts";
import { type SessionActions, TriggerActions } from "./trigger_actions.ts";
import { CrashRecorder } from "./crash_record.ts";

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
  /** CLOCK_MONOTONIC in nanoseconds, to stamp when each action began. @default none */
  monotonicNs?: () => number;
  /**
   * Told of each action as it starts on LTTng, with the crash it is for and the promise of
   * its end: to see that lttng-sessiond is not left waiting on the crashed process
   * (lib/daemon/sessiond_waits.ts). @default none
   */
  whileActing?: (crash: CrashFacts, done: Promise<unknown>) => void;
}

// An early crash a helper may still join.
interface EarlyCrash {
  id: number;
  facts: CrashFacts;
  decisions: Decision[];
  pending: Promise<TriggerOutcome>[];
  alive: () => boolean;
  joined: boolean;
  /**
   * Its early actions are done and no helper has joined yet: what records the outcome
   * and tells the listeners, once, when the pin goes ({@linkcode CrashHandler.forgetEarly})
   * without a helper. A helper that joins concludes the crash itself instead.
   */
  finalize?: () => void;
}

/** Handles crashes. */
export class CrashHandler {
  #recorder: CrashRecorder;
  #actions: TriggerActions;
  #now: () => Date;
  #finished = new Listeners<Parameters<CrashListener>[0]>();
  #received = new Listeners<Parameters<ReceivedListener>[0]>();
  #early = new Map<number, EarlyCrash>();
  // Global pids of crashes in flight on the helper path, how many each.
  #helpers = new Map<number, number>();

  /** Build a handler. */
  constructor(options: CrashHandlerOptions) {
    this.#recorder = new CrashRecorder(options.store, options.onStoreFailure);
    this.#actions = new TriggerActions(options.actions, options.monotonicNs, options.whileActing);
    this.#now = options.now ?? (() => new Date());
  }

  /** Subscribe to finished crashes; returns the unsubscribe function. */
  listen(listener: CrashListener): () => void {
    return this.#finished.listen(listener);
  }

  /** Subscribe to crashes as they arrive; returns the unsubscribe function. */
  listenReceived(listener: ReceivedListener): () => void {
    return this.#received.listen(listener);
  }

  /** Resolves once no action is queued or running. */
  idle(): Promise<void> {
    return this.#actions.idle();
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
    const early = this.#joinable(crash);
    if (early !== undefined) {
      if (early.id !== 0) onRecorded?.(early.id);
      return await this.#join(early, crash, source, onRelease);
    }
    // The connector's word for this crash, if it comes after its helper, is not a second crash.
    const key = crash.globalPid;
    if (key !== undefined) this.#helpers.set(key, (this.#helpers.get(key) ?? 0) + 1);
    try {
      const now = this.#now();
      const { id, decisions } = this.#recorder.record(crash, source, now);
      if (id !== 0) onRecorded?.(id);
      this.#tellReceived(crash, id, source, now);
      const pending = decisions.map((d) => this.#actions.run(d, crash));
      return await this.#conclude({ id, crash, source, decisions, pending, onRelease });
    } finally {
      if (key !== undefined) {
        const n = (this.#helpers.get(key) ?? 1) - 1;
        if (n > 0) this.#helpers.set(key, n);
        else this.#helpers.delete(key);
      }
    }
  }

  /**
   * A crash the kernel's process connector announced, its process pinned and proved
   * (lib/daemon/early_path.ts): record it (source `connector`), decide every trigger that
   * needs no fact of the helper's ({@linkcode needsHelperFacts}), and start their actions
   * now. `alive` says whether the pinned process is still the one announced (its pidfd
   * has not exited): the helper that arrives for it meanwhile joins this crash
   * ({@linkcode CrashHandler.handle}). Resolves when the early actions are done; the
   * record is final then unless the helper joined (which finishes it).
   */
  async handleEarly(crash: CrashFacts & { globalPid: number }, alive: () => boolean): Promise<
    CrashOutcome
  > {
    if (this.#helpers.has(crash.globalPid)) {
      // Its helper came first (a coredump connection can): the crash is in flight there.
      return { id: 0, fired: 0, failed: 0, results: [], outcome: "helper-first" };
    }
    const now = this.#now();
    const facts = { ...crash, connectorAt: now.toISOString() };
    const only = (t: Trigger) => !needsHelperFacts(t);
    // Decide and start the actions first, then write: a write (a WAL checkpoint) can take
    // milliseconds, which the ring buffers do not have. Nothing runs in between.
    // Not while the store refuses writes (see CrashRecorder.decideFirst).
    let decisions = this.#recorder.decideFirst(facts, now, only);
    const pending = decisions?.map((d) => this.#actions.run(d, facts));
    const recorded = this.#recorder.record(facts, "connector", now, { only, decisions });
    const id = recorded.id;
    decisions ??= recorded.decisions;
    this.#tellReceived(facts, id, "connector", now);
    const acting = pending ?? decisions.map((d) => this.#actions.run(d, facts));
    const early: EarlyCrash = { id, facts, decisions, pending: acting, alive, joined: false };
    if (alive()) this.#early.set(crash.globalPid, early); // else no helper can join it
    // One conclusion per crash: the helper's when it joins (it may add facts and triggers
    // of its own), else this one, once the pin is gone and no helper can join.
    return await this.#conclude({
      id,
      crash: facts,
      source: "connector",
      decisions,
      pending: acting,
      final: () => !early.joined,
      defer: (finalize) => {
        if (this.#early.get(crash.globalPid) !== early) return false;
        early.finalize = finalize;
        return true;
      },
    });
  }

  /**
   * Forget the early crash of `globalPid` (its pin is gone): no helper joins it now, and
   * its outcome, when its actions are done, is final.
   */
  forgetEarly(globalPid: number): void {
    const early = this.#early.get(globalPid);
    this.#early.delete(globalPid);
    early?.finalize?.();
  }

  /** How many early crashes a helper may still join. */
  get earlyInFlight(): number {
    return this.#early.size;
  }

  // The early crash this helper's crash is: the same global pid (or own pid, when /proc
  // could not tell the global one), still pinned, with the same own pid.
  #joinable(crash: CrashFacts): EarlyCrash | undefined {
    const key = crash.globalPid ?? crash.pid;
    const early = this.#early.get(key);
    if (early === undefined || early.joined) return undefined;
    if (early.facts.pid !== crash.pid || !early.alive()) return undefined;
    return early;
  }

  async #join(
    early: EarlyCrash,
    crash: CrashFacts,
    source: string,
    onRelease?: (release: { fired: number; failed: number }) => void,
  ): Promise<CrashOutcome> {
    early.joined = true;
    early.finalize = undefined; // this conclusion replaces the early one
    this.#early.delete(early.facts.globalPid!);
    const now = this.#now();
    const facts = joinedFacts(early.facts, crash, now);
    const later = this.#recorder.record(facts, source, now, {
      only: needsHelperFacts,
      into: early.id,
    });
    const decisions = [...early.decisions, ...later.decisions];
    const pending = [...early.pending, ...later.decisions.map((d) => this.#actions.run(d, facts))];
    return await this.#conclude({
      id: early.id,
      crash: facts,
      source,
      decisions,
      pending,
      onRelease,
    });
  }

  #tellReceived(crash: CrashFacts, id: number, source: string, now: Date): void {
    this.#received.emit({ ...crash, id, source, time: now.toISOString() });
  }

  // Release once the holding actions are done; then record the outcome, when `final`.
  async #conclude(c: {
    id: number;
    crash: CrashFacts;
    source: string;
    decisions: Decision[];
    pending: Promise<TriggerOutcome>[];
    onRelease?: (release: { fired: number; failed: number }) => void;
    final?: () => boolean;
    /** Whether to leave the record and the listeners to `finalize`, called later. */
    defer?: (finalize: () => void) => boolean;
  }): Promise<CrashOutcome> {
    const { id, decisions, pending } = c;
    const holding = pending.filter((_, i) => decisions[i].trigger.action.type !== "stop");
    const released = Promise.all(holding).then((held) => {
      const fired = decisions.filter((d) => d.allowed).length;
      const failed = held.filter((r) => r.outcome === "failed").length;
      c.onRelease?.({ fired, failed });
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
    if (c.final !== undefined && !c.final()) return { id, fired, failed, results, outcome };
    const finalize = () => this.#finish(c, { id, fired, failed, results, outcome });
    if (c.defer?.(finalize) !== true) finalize();
    return { id, fired, failed, results, outcome };
  }

  // Record a crash's outcome and tell the listeners: once per crash.
  #finish(
    c: { crash: CrashFacts; source: string; decisions: Decision[] },
    o: CrashOutcome,
  ): void {
    const { id, fired, failed, results, outcome } = o;
    const { decisions } = c;
    if (id !== 0 && (decisions.length > 0 || c.crash.helperAt !== undefined)) {
      this.#recorder.finish(id, outcome, results);
    }
    // The signature so far (lib/report/signature.ts): a report from the core may refine it.
    const signature = id === 0 ? undefined : this.#recorder.signature(id);
    const done = {
      ...c.crash,
      id,
      fired,
      failed,
      results,
      outcome,
      source: c.source,
      ...(signature === undefined ? {} : { signature }),
    };
    this.#finished.emit(done);
  }
}
