/**
 * Early holds: while the early path's actions run for a crash (its snapshot, racing the
 * other processes that write into the same per-user ring buffers), the notifier the kernel
 * forked for that crash waits before it starts its Deno runtime, tens of milliseconds of
 * CPU that the consumer daemon's copy would otherwise share. The daemon takes an exclusive
 * `flock` on `RUN_DIR/lttng-trig-early/PID` for the crash; bin/lttng-trig, for `notify`,
 * opens that file if it is there (never creating it) and waits for a shared lock, for a
 * second at most. The daemon removes the file, then unlocks: a notifier that opened it
 * before gets its lock at once, one after finds nothing. If the daemon dies, the kernel
 * drops its locks. The hold adds the snapshot's time to the crash's hold, which waits on
 * that snapshot anyway (docs/DESIGN.md).
 *
 * @module
 */

import { EARLY_HOLD_DIR_NAME, ROOT_RUN_DIR } from "../core/paths.ts";

/** The root daemon's hold directory, where bin/lttng-trig looks (it names it too). */
export const EARLY_HOLD_DIR = `${ROOT_RUN_DIR}/${EARLY_HOLD_DIR_NAME}`;

/** Longest a hold is kept, in milliseconds: the launcher's own bound is 1 s. */
export const EARLY_HOLD_MAX_MS = 1000;

/** Holds of the early path, in one directory. */
export class EarlyHolds {
  #dir: string;
  #log: (line: string) => void;
  #failed = false;
  #held = new Set<() => void>();

  private constructor(dir: string, log: (line: string) => void) {
    this.#dir = dir;
    this.#log = log;
  }

  /**
   * Prepare `dir` (0700, root's: only the root daemon writes there), or say why it cannot
   * be used (the crashes then go unheld, as without it).
   */
  static prepare(dir: string, log: (line: string) => void): EarlyHolds | string {
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) return (err as Error).message;
    }
    try {
      const st = Deno.lstatSync(dir);
      if (!st.isDirectory || st.uid !== 0 || (st.mode! & 0o077) !== 0) {
        return `${dir} is not a directory of root's that only root can use`;
      }
      // Hold files a daemon killed left behind: nobody locks them.
      for (const e of Deno.readDirSync(dir)) {
        if (/^\d+$/.test(e.name)) Deno.removeSync(`${dir}/${e.name}`);
      }
    } catch (err) {
      return (err as Error).message;
    }
    return new EarlyHolds(dir, log);
  }

  /** Remove the directory, once its holds are released (the daemon stops). */
  close(): void {
    for (const release of [...this.#held]) release();
    try {
      Deno.removeSync(this.#dir, { recursive: true });
    } catch { /* gone */ }
  }

  /** Hold the notifier of crash `pid`; returns the release (idempotent). */
  take(pid: number): () => void {
    const path = `${this.#dir}/${pid}`;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { create: true, write: true, truncate: true, mode: 0o600 });
      file.lockSync(true);
    } catch (err) {
      if (!this.#failed) {
        this.#failed = true;
        this.#log(`early path: no hold file for pid ${pid}: ${(err as Error).message}`);
      }
      return () => {};
    }
    let done = false;
    const timer = setTimeout(() => release(), EARLY_HOLD_MAX_MS);
    const release = () => {
      if (done) return;
      done = true;
      this.#held.delete(release);
      clearTimeout(timer);
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
      file.close();
    };
    this.#held.add(release);
    return release;
  }
}
