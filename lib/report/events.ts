/**
 * The crashing thread's last events, from babeltrace2's text of a snapshot: the events
 * whose `vtid` context is the crashing thread's tid where the session records it
 * (`lttng add-context -u -t vtid`), else those whose `vpid` is the crashed process's,
 * else the last events of the trace. Read as a stream: memory holds N events, whatever
 * the trace's size.
 *
 * @module
 */

/** One event, as babeltrace2 prints it. */
export interface TraceEvent {
  /** Its timestamp, as printed (`18:19:43.268117487`, or a date and time). */
  time: string;
  /** Its name (`lttng_ust_libc:malloc`). */
  name: string;
  /** The rest of the line: contexts and payload (`{ cpu_id = 1 }, { vpid = 4575, ... }`). */
  fields: string;
  /** Its `vtid` context, when the session records it. */
  vtid?: number;
  /** Its `vpid` context, when the session records it. */
  vpid?: number;
}

/** How the events were chosen: by thread, by process, or none could be (all events). */
export type EventsMatch = "vtid" | "vpid" | "none";

/** The last events of a crash. */
export interface CrashEvents {
  /** Oldest first, at most N. */
  events: TraceEvent[];
  /** How they were chosen. */
  matchedBy: EventsMatch;
  /** The snapshot they were read from. */
  snapshot?: string;
}

/** Which events to keep: the last `count` of thread `tid` (else of process `pid`). */
export interface EventsFilter {
  /** The crashed process's pid, in its own pid namespace (as `vpid` records it). */
  pid: number;
  /** The crashing thread's tid, in the same namespace (as `vtid` records it). */
  tid?: number;
  /** How many of the last events to keep. */
  count: number;
}

/** Longest `fields` text kept per event, in characters. */
export const MAX_FIELDS_LENGTH = 4096;

// "[18:19:43.268117487] (+0.000061084) vm lttng_ust_libc:malloc: { cpu_id = 1 }, ...":
// the timestamp, the delta, the host name (absent when the trace has none), the name
// and its colon, then the contexts and payload.
const EVENT_LINE = /^\[([^\]]+)\]\s+(?:\([^)]*\)\s+)?(?:(\S+)\s+)??(\S+):(?:\s+(.*))?$/;
const VTID = /\bvtid = (-?\d+)\b/;
const VPID = /\bvpid = (-?\d+)\b/;

/** Parse one line of babeltrace2's default text output; undefined if it is not an event. */
export function parseEventLine(line: string): TraceEvent | undefined {
  const m = EVENT_LINE.exec(line);
  if (m === null) return undefined;
  const rest = m[4] ?? "";
  const event: TraceEvent = {
    time: m[1],
    name: m[3],
    fields: rest.length > MAX_FIELDS_LENGTH ? `${rest.slice(0, MAX_FIELDS_LENGTH - 1)}…` : rest,
  };
  // The contexts come before the payload: the first match is the context's.
  const vtid = VTID.exec(rest);
  const vpid = VPID.exec(rest);
  if (vtid !== null) event.vtid = Number(vtid[1]);
  if (vpid !== null) event.vpid = Number(vpid[1]);
  return event;
}

/**
 * Keeps, line after line, the last events of the crashing thread, of the crashed
 * process and of the whole trace, then tells which the trace can support.
 */
export class LastEventsCollector {
  #filter: EventsFilter;
  #byTid: TraceEvent[] = [];
  #byPid: TraceEvent[] = [];
  #all: TraceEvent[] = [];
  #sawVtid = false;
  #sawVpid = false;

  constructor(filter: EventsFilter) {
    if (!Number.isSafeInteger(filter.count) || filter.count < 0) {
      throw new RangeError(
        `Cannot keep events: count must be a natural number, got ${filter.count}`,
      );
    }
    this.#filter = filter;
  }

  #push(ring: TraceEvent[], e: TraceEvent) {
    ring.push(e);
    if (ring.length > this.#filter.count) ring.shift();
  }

  /** Take one line of babeltrace2's text. */
  push(line: string): void {
    const e = parseEventLine(line);
    if (e === undefined) return;
    if (e.vtid !== undefined) {
      this.#sawVtid = true;
      if (e.vtid === this.#filter.tid) this.#push(this.#byTid, e);
    }
    if (e.vpid !== undefined) {
      this.#sawVpid = true;
      if (e.vpid === this.#filter.pid) this.#push(this.#byPid, e);
    }
    this.#push(this.#all, e);
  }

  /**
   * The last events: of the thread when the tid is known and the trace has `vtid`;
   * else of the process when it has `vpid`; else of the trace.
   */
  result(): CrashEvents {
    if (this.#filter.tid !== undefined && this.#sawVtid) {
      return { events: [...this.#byTid], matchedBy: "vtid" };
    }
    if (this.#sawVpid) return { events: [...this.#byPid], matchedBy: "vpid" };
    return { events: [...this.#all], matchedBy: "none" };
  }
}

/** Options of {@linkcode readLastEvents}. */
export interface ReadEventsOptions extends EventsFilter {
  /** Kill babeltrace2 after this long. @default 30000 */
  timeoutMs?: number;
  /** The babeltrace2 program. @default "babeltrace2" */
  program?: string;
}

/** babeltrace2 could not be run or could not read the snapshot. */
export class EventsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EventsError";
  }
}

const MAX_LINE = 1 << 20;

/**
 * Read the snapshot with babeltrace2 (no shell, cwd `/`, killed at the deadline) and
 * keep the last events of the crashing thread (or process). Rejects with
 * {@linkcode EventsError} when babeltrace2 cannot run, fails or times out.
 *
 * @example
 * ```ts ignore
 * const { events, matchedBy } = await readLastEvents("/snap/core-42", {
 *   pid: 42,
 *   tid: 43,
 *   count: 20,
 * });
 * ```
 */
export async function readLastEvents(
  snapshot: string,
  options: ReadEventsOptions,
): Promise<CrashEvents> {
  const program = options.program ?? "babeltrace2";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const collector = new LastEventsCollector(options);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: [snapshot],
      cwd: "/",
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new EventsError(
      `cannot run ${program} (${
        (err as Error).message
      }): install it with 'apt-get install babeltrace2'`,
      { cause: err },
    );
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const errText = new Response(child.stderr).text();
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      // A line longer than any event line: keep reading, but not into memory.
      if (rest.length > MAX_LINE) rest = "";
      for (const line of lines) collector.push(line);
    }
    if (rest !== "") collector.push(rest);
    const status = await child.status;
    const stderr = await errText;
    if (timedOut) {
      throw new EventsError(`${program} did not read ${snapshot} within ${timeoutMs} ms`);
    }
    if (!status.success) {
      throw new EventsError(
        `${program} cannot read ${snapshot}: ${stderr.trim().split("\n").pop() ?? ""}`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
  return { ...collector.result(), snapshot };
}
