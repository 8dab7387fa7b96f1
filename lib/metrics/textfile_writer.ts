/**
 * Writes the metrics file for node_exporter's textfile collector: atomically (a new
 * temporary file in the same directory, then a rename over the old one, so that a scrape
 * never reads half a file) and debounced (at most one write per interval, so that a
 * crash storm does not rewrite it thousands of times; the last change is always written).
 *
 * @module
 */
import { open } from "node:fs/promises";

/** The file system calls the writer makes: Deno's in production. */
export interface TextfileFs {
  /** Create `path` (failing if it exists: no symlink followed), write `text`, mode 0644. */
  writeNew(path: string, text: string): Promise<void>;
  /** Rename `from` to `to`, replacing it. */
  rename(from: string, to: string): Promise<void>;
  /** Remove `path`. */
  remove(path: string): Promise<void>;
}

/** Deno's file system, for {@linkcode TextfileFs}. */
export const denoTextfileFs: TextfileFs = {
  async writeNew(path, text) {
    // "wx" is O_EXCL: a name planted in a directory another user can write is refused,
    // never followed.
    const file = await open(path, "wx", 0o644);
    try {
      // The collector runs as another user: readable whatever the umask (on the open
      // file, not by its name, which could be swapped meanwhile).
      await file.chmod(0o644);
      await file.writeFile(text);
    } finally {
      await file.close();
    }
  },
  rename: (from, to) => Deno.rename(from, to),
  remove: (path) => Deno.remove(path),
};

/** Options of {@linkcode TextfileWriter}. */
export interface TextfileWriterOptions {
  /** The collector's directory. */
  dir: string;
  /** The file's name in it (ending in `.prom`, which the collector reads). */
  name: string;
  /** What to write: called at each write. */
  render(): string;
  /** Least time between two writes, in milliseconds. @default 1000 */
  intervalMs?: number;
  /** Log sink, told once that the directory is missing and once per other kind of error. */
  log?: (line: string) => void;
  /** File system. @default denoTextfileFs */
  fs?: TextfileFs;
  /** Clock, in milliseconds. @default performance.now */
  now?: () => number;
}

/** The metrics file of one daemon. */
export class TextfileWriter {
  #o: Required<TextfileWriterOptions>;
  #timer?: ReturnType<typeof setTimeout>;
  #lastWrite = -Infinity;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #said = new Set<string>();
  #written = false;
  #writes = 0;

  /** A writer; nothing is written before {@linkcode TextfileWriter.changed}. */
  constructor(options: TextfileWriterOptions) {
    this.#o = {
      intervalMs: 1000,
      log: () => {},
      fs: denoTextfileFs,
      now: () => performance.now(),
      ...options,
    };
  }

  /** The file's path. */
  get path(): string {
    return `${this.#o.dir}/${this.#o.name}`;
  }

  /** How many times the file was written. */
  get writes(): number {
    return this.#writes;
  }

  /** The metrics changed: write them now, or at the end of the interval. */
  changed(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastWrite + this.#o.intervalMs - this.#o.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, wait);
  }

  /** Write now (a pending write is done now instead); resolves once written or failed. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async #write(): Promise<void> {
    this.#lastWrite = this.#o.now();
    const { dir, name, fs } = this.#o;
    const temp = `${dir}/.${name}.${crypto.randomUUID()}.tmp`;
    try {
      await fs.writeNew(temp, this.#o.render());
      await fs.rename(temp, this.path);
      this.#written = true;
      this.#writes++;
      if (this.#said.size > 0) {
        this.#said.clear();
        this.#o.log(`metrics: writing ${this.path} again`);
      }
    } catch (err) {
      await fs.remove(temp).catch(() => {});
      const missing = err instanceof Deno.errors.NotFound ||
        (err as { code?: string }).code === "ENOENT";
      const kind = missing ? "missing" : (err as Error).name;
      if (!this.#said.has(kind)) {
        this.#said.add(kind);
        this.#o.log(
          missing
            ? `metrics: ${dir} does not exist: no metrics are written (install prometheus-node-exporter, or pass --metrics-dir)`
            : `metrics: cannot write ${this.path}: ${(err as Error).message}`,
        );
      }
    }
  }

  /**
   * Stop writing and remove the file written (a stopped daemon has no metrics: alert on
   * `absent(lttng_trig_build_info)`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#written) await this.#o.fs.remove(this.path).catch(() => {});
  }
}
