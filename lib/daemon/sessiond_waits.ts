/**
 * lttng-sessiond left waiting on a crashed process. A traced program that crashes within
 * microseconds of registering with LTTng (a crash at start, as in a crash loop) can die
 * between lttng-ust's "registration done" and its reply: lttng-ust wakes the program
 * first, then replies. lttng-sessiond waits for that reply holding its session list
 * lock, and the process, frozen in its core dump, never sends it. Every LTTng command
 * (the crash's own snapshot among them) and every new traced program's registration
 * then waits until the socket closes, which is when the dump ends and the process exits,
 * or for the session daemon's app timeout (5 s). The dump, meanwhile, waits on the
 * crash's snapshot when lttng-trig holds the process for its per-process buffers.
 *
 * So while an action runs for a crash, the root daemon looks at once, and again at 1, 3,
 * 10, 30, 100 and 1000 ms, for a thread of lttng-sessiond (the one of `lttng-sessiond.pid` in its
 * run directory) blocked reading a socket whose peer is the crashed process, still
 * dumping core, and ends that wait (lib/sys/socket_waits.ts): it answers in the dead
 * process's place with a reply lttng-sessiond rejects and goes on from, the process still
 * registered (its per-process buffers kept for the snapshot), or, where it cannot, shuts
 * the socket, which lttng-sessiond reads as the process gone (its per-process buffers go
 * with it). docs/NEVER_SILENT.md.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import { endWaitsOnDeadPeer, isDumpingCore } from "../sys/socket_waits.ts";

/** When to look, in milliseconds after the action starts. */
const LOOK_AT_MS = [0, 1, 3, 10, 30, 100, 1000];

/** Options of {@linkcode SessiondWaits}. */
export interface SessiondWaitsOptions {
  /** The file naming lttng-sessiond's pid (`RUNDIR/lttng-sessiond.pid`). */
  pidFile: string;
  /** Log line sink. */
  log(line: string): void;
  /** Ends the waits. @default lib/sys/socket_waits.ts */
  end?: typeof endWaitsOnDeadPeer;
  /** Whether a pid is dumping core. @default its /proc status */
  isDead?: (pid: number) => boolean;
  /** Reads the pid file. @default Deno.readTextFileSync */
  readFile?: (path: string) => string;
}

/** The root daemon's watch over lttng-sessiond's waits on crashed processes. */
export class SessiondWaits {
  #o: SessiondWaitsOptions;
  #refused?: string;
  /** Waits ended so far. */
  ended = 0;

  /** Build the watch. */
  constructor(options: SessiondWaitsOptions) {
    this.#o = options;
  }

  /** Look while `done` is pending, for the crashed process of `crash`. */
  watch(crash: CrashFacts, done: Promise<unknown>): void {
    const pid = crash.globalPid ?? crash.pid;
    if (!Number.isSafeInteger(pid) || pid <= 0) return;
    const o = this.#o;
    let waiter: number;
    try {
      waiter = Number((o.readFile ?? Deno.readTextFileSync)(o.pidFile).trim());
    } catch {
      return; // no session daemon there: nothing waits
    }
    if (!Number.isSafeInteger(waiter) || waiter <= 0) return;
    let pending = true;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const stop = () => {
      pending = false;
      for (const t of timers) clearTimeout(t);
    };
    done.then(stop, stop);
    for (const ms of LOOK_AT_MS) {
      if (ms === 0) this.#look(waiter, pid);
      else timers.push(setTimeout(() => pending && this.#look(waiter, pid), ms));
    }
  }

  #look(waiter: number, pid: number): void {
    const o = this.#o;
    const isDead = o.isDead ?? isDumpingCore;
    // Released, or never held: nothing can wait on it that its exit will not end.
    if (!isDead(pid)) return;
    const r = (o.end ?? endWaitsOnDeadPeer)({ waiter, comm: "lttng-sessiond", peer: pid, isDead });
    if (typeof r === "string") {
      if (this.#refused !== r) {
        this.#refused = r;
        o.log(`lttng-sessiond's waits on crashed processes cannot be looked at: ${r}`);
      }
      return;
    }
    for (const { tid, how } of r.ended) {
      this.ended++;
      o.log(
        `lttng-sessiond (pid ${waiter}, thread ${tid}) was waiting on crashed pid ${pid}, which died while it registered with LTTng: ${
          how === "answer"
            ? "it was answered in its place, and goes on with that process still registered (its buffers kept)"
            : "its socket was shut, as when the process exits (with per-process buffers, that process's go)"
        } (the wait held every LTTng command and new traced program for up to 5 s)`,
      );
    }
  }
}
