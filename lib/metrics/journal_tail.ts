/**
 * Follows the notifier's failure journal (STATE_DIR/notifier.log, JSON lines written by
 * lib/notify/io.ts), so that the daemon counts the notifier's failures: the notifier is a
 * process of its own, run by the kernel, and must not write metrics on the crash path.
 * Only what is appended after the start is read; a rotated journal is read from its
 * beginning.
 *
 * @module
 */

/** Options of {@linkcode JournalTail}. */
export interface JournalTailOptions {
  /** The journal's path. */
  path: string;
  /** Told the `failures` of each new entry. */
  onEntry(failures: string[]): void;
  /** How often to look, in milliseconds. @default 2000 */
  intervalMs?: number;
}

/** Reads what the notifier appends to its journal. */
export class JournalTail {
  #o: Required<JournalTailOptions>;
  #offset = 0;
  #timer?: ReturnType<typeof setInterval>;
  #busy = false;

  private constructor(options: JournalTailOptions) {
    this.#o = { intervalMs: 2000, ...options };
  }

  /** Start following `path` from its current end. */
  static async start(options: JournalTailOptions): Promise<JournalTail> {
    const tail = new JournalTail(options);
    tail.#offset = await size(options.path);
    tail.#timer = setInterval(() => void tail.poll(), tail.#o.intervalMs);
    // It must not keep a stopping daemon alive.
    Deno.unrefTimer(tail.#timer);
    return tail;
  }

  /** Read what was appended since the last look (the timer calls it). */
  async poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = await size(this.#o.path);
      if (now < this.#offset) this.#offset = 0; // rotated to notifier.log.1
      if (now === this.#offset) return;
      using f = await Deno.open(this.#o.path, { read: true });
      await f.seek(this.#offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(Math.min(now - this.#offset, 1024 * 1024));
      let got = 0;
      while (got < buf.length) {
        const n = await f.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      // Whole lines only: a line being written is read at the next look.
      const end = buf.subarray(0, got).lastIndexOf(0x0a);
      if (end < 0) return;
      this.#offset += end + 1;
      for (const line of new TextDecoder().decode(buf.subarray(0, end)).split("\n")) {
        try {
          const entry = JSON.parse(line) as { failures?: unknown };
          if (Array.isArray(entry.failures)) {
            this.#o.onEntry(entry.failures.filter((f): f is string => typeof f === "string"));
          }
        } catch { /* a torn or foreign line */ }
      }
    } catch {
      /* no journal (yet), or unreadable: nothing to count */
    } finally {
      this.#busy = false;
    }
  }

  /** Stop following. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

async function size(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}
