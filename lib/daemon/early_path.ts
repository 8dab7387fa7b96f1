/**
 * The early path: the root daemon hears of a crash from the kernel's process connector
 * (lib/daemon/proc_connector.ts), about 0.1 ms after the fault and before any
 * core_pattern helper runs; it pins the process (lib/daemon/early_pin.ts), and the crash
 * handler starts the matching actions there and then. The helper that arrives later for
 * the same crash (the notifier in pipe mode, the coredump connection in socket mode)
 * joins it (`CrashHandler.handle`): one crash, one record.
 *
 * A flood (a fork bomb of crashing processes) is bounded: at most
 * {@linkcode EARLY_MAX_IN_FLIGHT} crashes are pinned at once; past that an announcement
 * is only counted, and that crash is handled when its helper arrives, as without the
 * connector. A pin is let go when its process is reaped, or after
 * {@linkcode EARLY_PIN_MAX_MS} at most.
 *
 * @module
 */
import type { CrashHandler } from "./crash_handler.ts";
import { NOT_DUMPING, pinCrash, type PinnedCrash, type PinOps } from "./early_pin.ts";
import { UNKNOWN_ID } from "./held_process.ts";
import { type ProcConnectorCounts, ProcConnectorSocket } from "./proc_connector.ts";
import type { CoredumpEvent } from "./proc_event.ts";
import { closePidfd, pidfdAlive, pidfdOpen } from "../sys/pidfd.ts";
import { ROOT_RUN_DIR } from "../core/paths.ts";
import { EARLY_HOLD_DIR, EarlyHolds } from "./early_hold.ts";
import { libc } from "./libc.ts";
import { DaemonStartError } from "./run_dirs.ts";

/** Most crashes pinned at once. */
export const EARLY_MAX_IN_FLIGHT = 64;
/** Longest a crash stays pinned for its helper to join, in milliseconds. */
export const EARLY_PIN_MAX_MS = 60_000;
/** How often the pins are checked for processes that exited, in milliseconds. */
const SWEEP_MS = 200;
/** How many times a process not yet `CoreDumping` is looked at again (1 ms apart). */
const NOT_YET_RETRIES = 20;

/** Options of {@linkcode listenEarly}. */
export interface ListenEarlyOptions {
  /** `auto`, `only` or `off` (`DaemonOptions.connector`). */
  connector: "auto" | "only" | "off";
  /** The daemon's uid. */
  uid: number;
  /** The daemon's run directory. */
  runDir: string;
  /** The pinning calls, or why there are none. @default lib/sys/pidfd.ts and libc */
  pinOps?: PinOps | string;
  /** Starts the actions of an early crash. */
  crashes: EarlyPathOptions["crashes"];
  /** Log line sink. */
  log(line: string): void;
}

/**
 * Start the early path as the daemon's `connector` option says: the listening path, or
 * why there is none (`status` shows it). Throws a `DaemonStartError` for `only` without
 * the connector.
 */
export async function listenEarly(o: ListenEarlyOptions): Promise<EarlyPath | string> {
  if (o.connector === "off") {
    if (o.uid !== 0) return "the connector is for the root daemon only";
    return o.runDir === ROOT_RUN_DIR
      ? "turned off (--connector=off)"
      : `off on a run directory other than ${ROOT_RUN_DIR} (--connector=auto turns it on)`;
  }
  const c = libc();
  const ops = o.pinOps ??
    (typeof c === "string" ? c : { ...c, pidfdOpen, pidfdAlive, closePidfd });
  const early = typeof ops === "string" ? ops : await EarlyPath.start({
    crashes: o.crashes,
    ops,
    hostname: Deno.hostname(),
    log: o.log,
    // The launcher looks for hold files in root's run directory only.
    ...(o.runDir.replace(/\/+$/, "") === ROOT_RUN_DIR ? { holdDir: EARLY_HOLD_DIR } : {}),
  });
  if (typeof early !== "string") {
    o.log("early path: listening to the kernel's process connector");
    return early;
  }
  if (o.connector === "only") {
    throw new DaemonStartError(
      `${early}: run the daemon as root with CAP_NET_ADMIN, or without --connector=only`,
    );
  }
  o.log(`early path off: ${early}: crashes are acted on when their helper arrives`);
  return early;
}

/** Options of {@linkcode EarlyPath.start}. */
export interface EarlyPathOptions {
  /** Starts the actions of an early crash. */
  crashes: Pick<CrashHandler, "handleEarly" | "forgetEarly">;
  /** libc's pidfd, clock and `/proc` calls. */
  ops: PinOps;
  /** The daemon's hostname. */
  hostname: string;
  /** Log line sink. */
  log(line: string): void;
  /**
   * Where to hold each early crash's notifier while its actions run
   * (lib/daemon/early_hold.ts); no hold without it.
   */
  holdDir?: string;
}

/** What `status` says of the early path. */
export interface EarlyPathStatus {
  /** Crashes announced by the connector. */
  announced: number;
  /** Of those, pinned and acted on early. */
  pinned: number;
  /** Not pinned: not the announced process, gone, or past the in-flight bound. */
  notPinned: number;
  /** Times the kernel dropped announcements for want of room. */
  overruns: number;
}

interface Pin extends PinnedCrash {
  since: number;
}

/** The listening connector and the crashes it pinned. */
export class EarlyPath {
  #socket!: ProcConnectorSocket;
  #options: EarlyPathOptions;
  #pins = new Map<number, Pin>();
  #sweep?: ReturnType<typeof setInterval>;
  #pinned = 0;
  #notPinned = 0;
  #closed = false;
  #ownUts?: string;
  #holds?: EarlyHolds;

  private constructor(options: EarlyPathOptions) {
    this.#options = options;
    this.#ownUts = options.ops.readLink("/proc/self/ns/uts");
  }

  /** Listen to the connector; or say why the early path cannot run. */
  static async start(options: EarlyPathOptions): Promise<EarlyPath | string> {
    const path = new EarlyPath(options);
    const socket = await ProcConnectorSocket.open({
      onCoredump: (event) => path.#onCoredump(event, 0),
      log: options.log,
    });
    if (typeof socket === "string") return socket;
    path.#socket = socket;
    if (options.holdDir !== undefined) {
      const holds = EarlyHolds.prepare(options.holdDir, options.log);
      if (typeof holds === "string") options.log(`early path: notifiers are not held: ${holds}`);
      else path.#holds = holds;
    }
    // The first crash must not wait for the pinning code to be compiled: run it once on
    // the daemon itself (refused: it is not dumping core).
    pinCrash(
      {
        type: "coredump",
        pid: Deno.pid,
        tgid: Deno.pid,
        parentPid: 0,
        parentTgid: 0,
        timestampNs: BigInt(Math.round(options.ops.monotonicNs())),
        cpu: 0,
      },
      options.ops,
      { hostname: options.hostname },
    );
    return path;
  }

  /** What it has done so far. */
  status(): EarlyPathStatus & Pick<ProcConnectorCounts, "others"> {
    const c = this.#socket.counts;
    return {
      announced: c.coredumps,
      pinned: this.#pinned,
      notPinned: this.#notPinned,
      overruns: c.overruns,
      others: c.others,
    };
  }

  #onCoredump(event: CoredumpEvent, attempt: number): void {
    if (this.#closed) return;
    const held = this.#pins.get(event.tgid);
    if (held !== undefined) {
      if (this.#options.ops.pidfdAlive(held.pidfd)) return; // another thread of it
      this.#unpin(held); // gone: its pid names another process now
    }
    if (this.#pins.size >= EARLY_MAX_IN_FLIGHT) {
      this.#notPinned++;
      return;
    }
    const o = this.#options;
    const pinned = pinCrash(event, o.ops, { hostname: o.hostname, ownUts: this.#ownUts });
    if (typeof pinned === "string") {
      // The other threads must stop before the dump begins: look again, briefly.
      if (pinned.endsWith(NOT_DUMPING) && attempt < NOT_YET_RETRIES) {
        setTimeout(() => this.#onCoredump(event, attempt + 1), 1);
        return;
      }
      this.#notPinned++;
      if (pinned.startsWith(`pid ${event.tgid} cannot be pinned`)) {
        // Reaped already: its dump reached no helper. The kernel's word is all there is.
        this.#recordGone(event, pinned);
      } else {
        o.log(`process connector: ${pinned}: left to its helper`);
      }
      return;
    }
    this.#pinned++;
    const pin: Pin = { ...pinned, since: performance.now() };
    this.#pins.set(pin.tgid, pin);
    this.#sweep ??= setInterval(() => this.#sweepPins(), SWEEP_MS);
    const alive = () => this.#pins.get(pin.tgid) === pin && o.ops.pidfdAlive(pin.pidfd);
    const release = this.#holds?.take(pin.tgid);
    o.crashes.handleEarly({ ...pin.facts, globalPid: pin.tgid }, alive).catch((err) =>
      o.log(`process connector: crash pid=${pin.tgid}: ${(err as Error).message}`)
    ).finally(release);
  }

  #recordGone(event: CoredumpEvent, why: string): void {
    const facts = {
      pid: event.tgid,
      globalPid: event.tgid,
      uid: UNKNOWN_ID,
      gid: UNKNOWN_ID,
      uidVerified: false as const,
      uidNote: `not known: ${why}`,
      execName: "",
      hostname: "",
      hostnameNote: `not known: ${why}`,
    };
    this.#options.crashes.handleEarly(facts, () => false).catch((err) =>
      this.#options.log(`process connector: crash pid=${event.tgid}: ${(err as Error).message}`)
    );
  }

  #sweepPins(): void {
    const now = performance.now();
    for (const pin of this.#pins.values()) {
      if (!this.#options.ops.pidfdAlive(pin.pidfd) || now - pin.since > EARLY_PIN_MAX_MS) {
        this.#unpin(pin);
      }
    }
    if (this.#pins.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #unpin(pin: Pin): void {
    this.#pins.delete(pin.tgid);
    this.#options.crashes.forgetEarly(pin.tgid);
    this.#options.ops.closePidfd(pin.pidfd);
  }

  /** Stop listening and let every pin go; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    await this.#socket.close();
    for (const pin of [...this.#pins.values()]) this.#unpin(pin);
    this.#holds?.close();
  }
}
