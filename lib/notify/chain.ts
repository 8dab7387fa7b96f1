/**
 * Running the chained crash handler (`install --chain`): after the daemons replied, the
 * notifier runs the handler core_pattern named before lttng-trig, as the kernel would
 * have: argv expanded from the same crash (lib/core/core_specifiers.ts), the core streamed
 * on its stdin, cwd `/`, an empty environment. The crash stays held until it exits, or
 * until its deadline, when it is killed. Loaded only when a chain is configured. The
 * handler is the one STATE_DIR/notifier.json names (lib/core/notifier_config.ts).
 *
 * `%F`: the kernel gives a helper whose pattern has `%F` a pidfd of the crashed process
 * as its fd 3, without close-on-exec; lttng-trig's pattern has `%F` when the chained one
 * does, and the chained handler inherits that fd 3 from the notifier, so `%F` expands to
 * `3` and means the same thing.
 *
 * @module
 */
import { expandPipeCommand } from "../core/core_specifiers.ts";
import { type ChainState, isChainState, isNotifierConfig } from "../core/notifier_config.ts";
import { CHAIN_LOG_NAME, INSTALL_STATE_NAME, NOTIFIER_CONFIG_NAME } from "../core/paths.ts";
import { trustRefusal } from "../core/ownership.ts";
import type { ChainFate, CoreFate } from "../protocol/records.ts";

/** Options of {@linkcode runChain}. */
export interface RunChainOptions {
  /** Kill the handler (and release the crash) after this many ms. */
  timeoutMs: number;
  /**
   * Also keep the core (`--core-dir`): given a second copy of the stream, read in
   * lockstep with the handler's.
   */
  keep?: (core: ReadableStream<Uint8Array>) => Promise<CoreFate>;
}

/**
 * The chained handler STATE_DIR/notifier.json names, or why it cannot be had. An install
 * made before notifier.json existed has only install.json: its `chain` is read then, so
 * that its crashes still reach the chained handler until `install` runs again. Either
 * file, and the directory, are refused when a uid other than `owners` could have written
 * them: the handler runs as root.
 */
export async function loadChain(
  stateDir: string,
  owners: readonly number[] = [Deno.uid() ?? 0],
): Promise<ChainState | string> {
  try {
    const config = await readTrustedJson(stateDir, NOTIFIER_CONFIG_NAME, owners);
    if (config !== undefined) {
      if (!isNotifierConfig(config.value)) {
        return `${config.path} is not a valid notifier file: run 'lttng-trig install --chain' again`;
      }
      return config.value.chain ?? `no chained handler in ${config.path}`;
    }
    const state = await readTrustedJson(stateDir, INSTALL_STATE_NAME, owners);
    if (state === undefined) {
      return `neither ${NOTIFIER_CONFIG_NAME} nor ${INSTALL_STATE_NAME} is in ${stateDir}`;
    }
    const chain = (state.value as { chain?: unknown } | null)?.chain;
    return isChainState(chain) ? chain : `no chained handler in ${state.path}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** `dir/name` parsed (`undefined` as the value when it is not JSON); `undefined` when absent. */
async function readTrustedJson(
  dir: string,
  name: string,
  owners: readonly number[],
): Promise<{ path: string; value: unknown } | undefined> {
  const path = `${dir}/${name}`;
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const refusal = trustRefusal(await Deno.lstat(dir), dir, owners) ??
    trustRefusal(st, path, owners);
  if (refusal !== undefined) throw new Error(refusal);
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    if (!(err instanceof SyntaxError)) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
  }
  return { path, value };
}

/**
 * Two streams of the chunks of `source`, read in lockstep: the next chunk is read only
 * once both branches took the previous one, so neither holds more than a chunk. A
 * branch cancelled (a handler that stopped reading) no longer holds the other back.
 */
export function lockstepTee(
  source: ReadableStream<Uint8Array>,
): [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>] {
  const reader = source.getReader();
  const live = [true, true];
  const waiting: (((c: Uint8Array | null) => void) | undefined)[] = [undefined, undefined];
  let reading = false;
  const pump = async () => {
    if (reading) return;
    // Read when every live branch is waiting for the next chunk.
    if (!live.every((l, i) => !l || waiting[i] !== undefined)) return;
    reading = true;
    let chunk: Uint8Array | null;
    try {
      const r = await reader.read();
      chunk = r.done ? null : r.value;
    } catch {
      chunk = null;
    }
    reading = false;
    for (let i = 0; i < 2; i++) {
      const w = waiting[i];
      waiting[i] = undefined;
      w?.(chunk);
    }
  };
  const branch = (i: number) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        return new Promise<void>((resolve) => {
          waiting[i] = (chunk) => {
            if (chunk === null) controller.close();
            else controller.enqueue(chunk);
            resolve();
          };
          pump();
        });
      },
      cancel() {
        live[i] = false;
        const w = waiting[i];
        waiting[i] = undefined;
        w?.(null);
        if (!live.some((l) => l)) reader.cancel().catch(() => {});
        else pump();
      },
    }, { highWaterMark: 0 });
  return [branch(0), branch(1)];
}

/**
 * Run the chained handler on one crash: `values` are the crash's specifier values, as
 * lib/core/chain_words.ts chainValuesOf gives them; `core` is the core pipe. Resolves
 * once the handler ended (or was killed at the deadline), with the core pipe read or
 * cancelled to its end, and what became of the kept core, if one was.
 */
export async function runChain(
  chain: ChainState,
  values: Readonly<Record<string, string>>,
  core: ReadableStream<Uint8Array>,
  options: RunChainOptions,
): Promise<{ chain: ChainFate; core?: CoreFate }> {
  const argv = expandPipeCommand(chain.command, values);
  // The kernel execs argv[0] as a path, relative to the helper's cwd "/": never a PATH search.
  const program = argv[0] === undefined || argv[0] === ""
    ? ""
    : argv[0].startsWith("/")
    ? argv[0]
    : `/${argv[0]}`;
  let handlerCore = core;
  let kept: Promise<CoreFate> | undefined;
  if (options.keep !== undefined) {
    const [a, b] = lockstepTee(core);
    handlerCore = a;
    kept = options.keep(b);
  }
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let child: Deno.ChildProcess;
  try {
    if (program === "") throw new Error("the chained pattern names no program");
    child = new Deno.Command(program, {
      args: argv.slice(1),
      cwd: "/",
      clearEnv: true,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (err) {
    await handlerCore.cancel().catch(() => {});
    const outcome: ChainFate = {
      program,
      outcome: "missing",
      durationMs: took(),
      bytes: 0,
      reason: `cannot run ${program}: ${(err as Error).message}`,
    };
    return kept === undefined ? { chain: outcome } : { chain: outcome, core: await kept };
  }
  let bytes = 0;
  const counted = handlerCore.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  // A handler that exits without reading all the core ends the pipe with an error: the
  // rest of the core is then not its to read.
  const stop = new AbortController();
  const fed = counted.pipeTo(child.stdin, { signal: stop.signal }).catch(() => {});
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve();
    }, options.timeoutMs);
  });
  const status = await Promise.race([child.status, deadline.then(() => undefined)]);
  let drained = true;
  if (status !== undefined && !timedOut) {
    // The handler exited, but its stdin may live on: systemd-coredump hands the core pipe
    // to its socket-activated service, which reads the core after the helper exited. As
    // the kernel does, the core is written for as long as anyone reads it (with no reader
    // left, a write fails at once), within the same deadline.
    drained = await Promise.race([fed.then(() => true), deadline.then(() => false)]);
  }
  clearTimeout(timer);
  let result: ChainFate;
  if (status === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone meanwhile */ }
    stop.abort();
    await settled(fed);
    await child.status.catch(() => {});
    result = {
      program,
      outcome: "timeout",
      durationMs: took(),
      bytes,
      reason: `${program} did not finish within ${options.timeoutMs} ms: killed`,
    };
  } else {
    // Whatever is left unread past the deadline is released with the crash.
    stop.abort();
    await settled(fed);
    result = { program, outcome: status.success ? "ok" : "failed", durationMs: took(), bytes };
    if (status.signal !== null) {
      result.signal = status.signal;
      result.reason = `${program} was killed by ${status.signal}`;
    } else {
      result.code = status.code;
      if (!status.success) result.reason = `${program} exited with status ${status.code}`;
    }
    if (!drained && status.success) {
      result.outcome = "timeout";
      result.reason =
        `the core was still being read from ${program}'s stdin after ${options.timeoutMs} ms: released with the rest unread`;
    }
  }
  return kept === undefined ? { chain: result } : { chain: result, core: await kept };
}

/**
 * `fed` once the pipe to the handler is shut, or after a short grace: an aborted pipe
 * still waits for a write in flight, which a reader that never reads (one the handler
 * handed its stdin to) would block for good. The crash is released all the same.
 */
function settled(fed: Promise<void>, graceMs = 200): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    fed,
    new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
  ]).finally(() => clearTimeout(timer));
}

/** One line of STATE_DIR/chain.log: a run of the chained handler. */
export interface ChainJournalEntry extends ChainFate {
  /** ISO time the crash was handled. */
  time: string;
  /** `%p` of the crash. */
  pid: number;
  /** Exec name (`%e`). */
  exec: string;
}

const CHAIN_LOG_CAP = 1024 * 1024;

/** Append `entry` to `stateDir/chain.log` (JSON lines, 0600; rotated to `.1` past 1 MiB). */
export async function journalChain(stateDir: string, entry: ChainJournalEntry): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = `${stateDir}/${CHAIN_LOG_NAME}`;
  try {
    const st = await Deno.lstat(path);
    if (st.size > CHAIN_LOG_CAP) await Deno.rename(path, `${path}.1`);
  } catch { /* no journal yet */ }
  await Deno.writeTextFile(path, JSON.stringify(entry) + "\n", {
    append: true,
    create: true,
    mode: 0o600,
  });
}

/** The last `n` runs of the chained handler (newest last); empty without a journal. */
export async function readChainJournal(stateDir: string, n = 20): Promise<ChainJournalEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${stateDir}/${CHAIN_LOG_NAME}`);
  } catch {
    return [];
  }
  const out: ChainJournalEntry[] = [];
  for (const line of text.split("\n").slice(-n - 1)) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as ChainJournalEntry);
    } catch { /* a torn line */ }
  }
  return out.slice(-n);
}
