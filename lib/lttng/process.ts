/**
 * Running a program with no shell, stdin closed, output captured (capped) and a deadline
 * after which the child is killed by pid.
 *
 * @module
 */

/** What a finished program left. */
export interface ProcessResult {
  /** Exit code; -1 when it was killed or could not start. */
  code: number;
  /** Captured standard output (capped). */
  stdout: string;
  /** Captured standard error (capped). */
  stderr: string;
  /** It ran past its deadline and was killed. */
  timedOut: boolean;
  /** It could not be started (binary missing...): the reason. */
  spawnError?: string;
}

/** Options of {@linkcode ProcessRunner.run}. */
export interface RunOptions {
  /** Deadline in milliseconds. */
  timeoutMs: number;
}

/** Runs programs; injected so the daemon's logic can be tested without them. */
export interface ProcessRunner {
  /** Run `command` with `args` (never through a shell). */
  run(command: string, args: string[], options: RunOptions): Promise<ProcessResult>;
}

const OUTPUT_CAP = 1024 * 1024;

/**
 * Read `stream` to its end, capped, or until `stop` aborts: a killed program's child can
 * keep the pipe open, and the result must not wait for it.
 */
async function collect(stream: ReadableStream<Uint8Array>, stop: AbortSignal): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  const onStop = () => void reader.cancel().catch(() => {});
  stop.addEventListener("abort", onStop);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (size < OUTPUT_CAP) {
        chunks.push(value.subarray(0, OUTPUT_CAP - size));
        size += Math.min(value.byteLength, OUTPUT_CAP - size);
      }
    }
  } catch {
    // Cancelled: what was read is kept.
  } finally {
    stop.removeEventListener("abort", onStop);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** The real {@linkcode ProcessRunner}, on `Deno.Command`. */
export const denoProcessRunner: ProcessRunner = {
  async run(command, args, options) {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, {
        args,
        // A directory the caller cannot read would refuse the spawn (EACCES).
        cwd: "/",
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound
        ? `${command} is not installed or not on PATH`
        : (err instanceof Error ? err.message : String(err));
      return { code: -1, stdout: "", stderr: "", timedOut: false, spawnError: reason };
    }
    let timedOut = false;
    const stop = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* it exited meanwhile */ }
      stop.abort();
    }, options.timeoutMs);
    try {
      const [stdout, stderr, status] = await Promise.all([
        collect(child.stdout, stop.signal),
        collect(child.stderr, stop.signal),
        child.status,
      ]);
      return { code: timedOut ? -1 : status.code, stdout, stderr, timedOut };
    } finally {
      clearTimeout(timer);
    }
  },
};
