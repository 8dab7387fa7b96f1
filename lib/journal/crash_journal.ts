/**
 * The daemon's journal: each finished crash becomes a journal entry, and each crash
 * report another (lib/journal/crash_entry.ts), sent to journald's native socket
 * (lib/journal/sender.ts). Where no journald answers, nothing fails: the log says so
 * once, and again once one answers.
 *
 * @module
 */
import type { CrashRecord } from "../protocol/records.ts";
import { crashEntry, reportEntry } from "./crash_entry.ts";
import { encodeJournalEntry, type JournalField } from "./encoder.ts";
import { JOURNAL_BUSY, type JournalTransport, openJournalSocket } from "./sender.ts";

/** Entries kept while journald's queue is full, at most; past it the oldest go. */
export const JOURNAL_BACKLOG = 1024;
const RETRY_FIRST_MS = 10;
const RETRY_MAX_MS = 1000;

/** A source of events about crashes, by history id (the crash handler, the report queue). */
export interface CrashEvents<T extends { id: number }> {
  /** Subscribe; returns the unsubscribe function. */
  listen(listener: (event: T) => void): () => void;
}

/** A finished crash, as the crash handler tells it. */
export type FinishedCrash = Omit<CrashRecord, "time"> & { time?: string };

/** Options of {@linkcode CrashJournal.attach}. */
export interface CrashJournalOptions {
  /** journald's native socket. */
  socket: string;
  /** Finished crashes (the crash handler). */
  crashes: CrashEvents<FinishedCrash>;
  /** Stored reports (the report queue). */
  reports: CrashEvents<{ id: number }>;
  /** The crash as the history keeps it (its core, report and signature). */
  lookup(id: number): CrashRecord | undefined;
  /** Log sink. */
  log(line: string): void;
  /** Opens the socket. @default {@linkcode openJournalSocket} */
  open?: (path: string) => JournalTransport | string;
  /** Clock, for a crash the store could not record. @default () => new Date() */
  now?: () => Date;
}

/** Writes crashes to the journal. */
export class CrashJournal {
  #o: CrashJournalOptions;
  #transport?: JournalTransport;
  #off: (() => void)[] = [];
  // What the last send said: the log tells only of a change.
  #failing?: string;
  #sent = 0;
  // Entries journald could not take yet (its queue was full), oldest first.
  #backlog: Uint8Array[] = [];
  #dropped = 0;
  #retry?: ReturnType<typeof setTimeout>;
  #retryMs = RETRY_FIRST_MS;
  #closed = false;

  private constructor(options: CrashJournalOptions) {
    this.#o = options;
  }

  /** Follow `options.crashes` and `options.reports`, and journal each. */
  static attach(options: CrashJournalOptions): CrashJournal {
    const j = new CrashJournal(options);
    j.#off.push(options.crashes.listen((c) => j.#crash(c)));
    j.#off.push(options.reports.listen((r) => j.#report(r.id)));
    return j;
  }

  /** Entries sent so far. */
  get sent(): number {
    return this.#sent;
  }

  #record(id: number): CrashRecord | undefined {
    if (id === 0) return undefined;
    try {
      return this.#o.lookup(id);
    } catch {
      return undefined;
    }
  }

  #crash(c: FinishedCrash): void {
    const record = this.#record(c.id) ??
      { ...c, time: c.time ?? (this.#o.now?.() ?? new Date()).toISOString() };
    this.send(crashEntry(record));
  }

  #report(id: number): void {
    const record = this.#record(id);
    const entry = record === undefined ? undefined : reportEntry(record);
    if (entry !== undefined) this.send(entry);
  }

  /** Entries waiting for journald to take them. */
  get waiting(): number {
    return this.#backlog.length;
  }

  /**
   * Send one entry; whether journald took it. An entry journald cannot take at once (its
   * queue is full, in a crash storm) waits, in order, and is sent again soon. Never throws.
   */
  send(fields: readonly JournalField[]): boolean {
    if (this.#closed) return false;
    let entry: Uint8Array;
    try {
      entry = encodeJournalEntry(fields);
    } catch (err) {
      this.#o.log(`journal: entry not sent: ${(err as Error).message}`);
      return false;
    }
    if (this.#backlog.length > 0) {
      this.#wait(entry);
      return false;
    }
    const r = this.#send(entry);
    if (r === "busy") this.#wait(entry);
    return r === "sent";
  }

  #wait(entry: Uint8Array): void {
    this.#backlog.push(entry);
    if (this.#backlog.length > JOURNAL_BACKLOG) {
      this.#backlog.shift();
      this.#dropped++;
    }
    this.#retry ??= setTimeout(() => this.#drain(), this.#retryMs);
  }

  #drain(): void {
    this.#retry = undefined;
    let sent = 0;
    while (this.#backlog.length > 0) {
      if (this.#send(this.#backlog[0]) === "busy") {
        // journald took some: it is working through its queue, come back soon; none: later.
        this.#retryMs = sent > 0 ? RETRY_FIRST_MS : Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        this.#retry = setTimeout(() => this.#drain(), this.#retryMs);
        return;
      }
      sent++;
      // Sent, or journald is gone (said in the log): either way, not kept.
      this.#backlog.shift();
    }
    this.#retryMs = RETRY_FIRST_MS;
    if (this.#dropped > 0) {
      this.#o.log(`journal: ${this.#dropped} entries lost while journald's queue was full`);
      this.#dropped = 0;
    }
  }

  #send(entry: Uint8Array): "sent" | "busy" | "failed" {
    let why: string | undefined;
    try {
      if (this.#transport === undefined) {
        const t = (this.#o.open ?? openJournalSocket)(this.#o.socket);
        if (typeof t === "string") why = t;
        else this.#transport = t;
      }
      why ??= this.#transport?.send(entry);
    } catch (err) {
      why = (err as Error).message;
    }
    // Not a failure to log: journald is there, behind; the entry waits its turn.
    if (why === JOURNAL_BUSY) return "busy";
    if (why === undefined) {
      this.#sent++;
      if (this.#failing !== undefined) {
        this.#o.log(`journal: journald answers on ${this.#o.socket} again`);
        this.#failing = undefined;
      }
      return "sent";
    }
    if (this.#failing !== why) {
      this.#o.log(
        `journal: no journald takes entries on ${this.#o.socket} (${why}): crashes are not journaled until one does`,
      );
      this.#failing = why;
    }
    return "failed";
  }

  /**
   * Stop following and release the socket; idempotent. Entries still waiting get one last
   * try; those journald still cannot take are counted in the log.
   */
  close(): void {
    if (this.#closed) return;
    for (const off of this.#off.splice(0)) off();
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const left = this.#backlog.splice(0);
    let lost = this.#dropped;
    for (const [i, entry] of left.entries()) {
      if (this.#send(entry) !== "sent") {
        lost += left.length - i;
        break;
      }
    }
    if (lost > 0) this.#o.log(`journal: ${lost} entries not sent: the daemon stopped first`);
    this.#closed = true;
    this.#transport?.close();
    this.#transport = undefined;
  }
}
