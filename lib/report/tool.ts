/**
 * Running an analysis tool (eu-stack, zstd) for a crash report: no shell, cwd `/`, an
 * empty environment, within a deadline and an output bound, as the crashing user when
 * told (lib/report/as_user.ts).
 *
 * @module
 */
import { asUser, type RunAs } from "./as_user.ts";

const STDERR_KEPT = 4096;

/** What one run of the tool gave. */
export interface ToolResult {
  /** Its standard output, at most `maxBytes`. */
  stdout: string;
  /** The end of its standard error, at most 4 KiB. */
  stderr: string;
  /** Its exit code, null when killed. */
  code: number | null;
  /** Whether it was killed at the deadline. */
  timedOut: boolean;
  /** Whether its output reached `maxBytes` (it was then killed). */
  truncated: boolean;
}

/** Runs a program (no shell) within a deadline and an output bound, as `as` when given. */
export type ToolRunner = (
  program: string,
  args: string[],
  limits: { timeoutMs: number; maxBytes: number; as?: RunAs; cwd?: string },
) => Promise<ToolResult>;

/**
 * Run `program` with `args`, no shell, cwd `/` (or `limits.cwd`), an empty environment (so no debuginfod
 * lookup), stdin closed; killed (SIGKILL) at `timeoutMs` or once stdout reaches
 * `maxBytes`. Throws only when it cannot be started.
 */
export async function runTool(
  program: string,
  args: string[],
  limits: { timeoutMs: number; maxBytes: number; as?: RunAs; cwd?: string },
): Promise<ToolResult> {
  const cmd = limits.as === undefined ? { program, args } : asUser(program, args, limits.as);
  const child = new Deno.Command(cmd.program, {
    args: cmd.args,
    // In `cwd` the tool names its files relatively: the directories above it need not be
    // searchable by the user it runs as (the chdir is done before setpriv drops root).
    cwd: limits.cwd ?? "/",
    clearEnv: true,
    env: { LC_ALL: "C" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  let truncated = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, limits.timeoutMs);
  const readBounded = async (stream: ReadableStream<Uint8Array>, max: number, keepEnd: boolean) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of stream) {
      if (keepEnd) {
        chunks.push(chunk);
        size += chunk.byteLength;
        while (size - chunks[0].byteLength >= max) size -= chunks.shift()!.byteLength;
        continue;
      }
      if (size >= max) continue; // drain, so that the child is never blocked on a pipe
      const part = chunk.subarray(0, max - size);
      chunks.push(part);
      size += part.byteLength;
      if (size >= max) {
        truncated = true;
        kill();
      }
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    const text = new TextDecoder().decode(all);
    return keepEnd ? text.slice(-max) : text;
  };
  try {
    const [stdout, stderr, status] = await Promise.all([
      readBounded(child.stdout, limits.maxBytes, false),
      readBounded(child.stderr, STDERR_KEPT, true),
      child.status,
    ]);
    return {
      stdout,
      stderr,
      code: status.signal === null ? status.code : null,
      timedOut,
      truncated,
    };
  } finally {
    clearTimeout(timer);
  }
}
