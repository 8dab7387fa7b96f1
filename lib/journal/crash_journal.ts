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
import { type JournalTransport, openJournalSocket } from "./sender.ts";

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

  /** Send one entry; whether journald took it. Never throws. */
  send(fields: readonly JournalField[]): boolean {
    let why: string | undefined;
    try {
      if (this.#transport === undefined) {
        const t = (this.#o.open ?? openJournalSocket)(this.#o.socket);
        if (typeof t === "string") why = t;
        else this.#transport = t;
      }
      why ??= this.#transport?.send(encodeJournalEntry(fields));
    } catch (err) {
      why = (err as Error).message;
    }
    if (why === undefined) {
      this.#sent++;
      if (this.#failing !== undefined) {
        this.#o.log(`journal: journald answers on ${this.#o.socket} again`);
        this.#failing = undefined;
      }
      return true;
    }
    if (this.#failing !== why) {
      this.#o.log(
        `journal: no journald takes entries on ${this.#o.socket} (${why}): crashes are not journaled until one does`,
      );
      this.#failing = why;
    }
    return false;
  }

  /** Stop following and release the socket; idempotent. */
  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.#transport?.close();
    this.#transport = undefined;
  }
}
