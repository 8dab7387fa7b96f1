/**
 * The notification socket (`RUN_DIR/notify-lttng-sessiond`): accepts the notifier's
 * frames, decodes a crash (ONANYCOREDUMP or its extended form), a core's fate or the
 * chained handler's run, hands a crash to the crash handler and answers once its actions
 * let the crash go.
 *
 * @module
 */
import { type CoreFate, coreFate } from "../protocol/records.ts";
import type { ChainFate } from "../protocol/records.ts";
import {
  decodeOnAnyCoreDump,
  encodeNotifyReply,
  NotifyCommand,
  type NotifyReply,
  NotifyStatus,
  ONANYCOREDUMP_C_SIZE,
} from "../wire/notify.ts";
import {
  decodeOnAnyCoreDumpExt,
  NotifyExtCommand,
  ONANYCOREDUMP_EXT_MAX,
  type OnAnyCoreDumpExtMessage,
} from "../wire/notify_ext.ts";
import {
  CHAIN_RESULT_MAX,
  type ChainResultMessage,
  CORE_RESULT_MAX,
  decodeChainResult,
  decodeCoreResult,
} from "../wire/notify_results.ts";
import { linuxSignalName } from "../core/signals.ts";
import {
  CHAIN_RESULT_OF_MAX,
  CORE_RESULT_OF_MAX,
  NotifyRefCommand,
  splitCrashId,
} from "../wire/notify_ref.ts";
import type { CrashRef } from "../store/crashes.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import type { CrashHandler, CrashOutcome } from "./crash_handler.ts";
import { type FrameResult, SocketServer } from "./connections.ts";
import { lookAtHeldProcess, type ProcReader, withHeldProcess } from "./held_process.ts";
import { acceptsNotification } from "./notification_owner.ts";

/** Options of {@linkcode NotifyEndpoint}. */
export interface NotifyEndpointOptions {
  /**
   * The daemon's uid: a user's daemon drops a notification of another uid's crash
   * ({@linkcode acceptsNotification}).
   */
  uid: number;
  /** Acts on each crash. */
  crashes: Pick<CrashHandler, "handle">;
  /**
   * Records the fate of a crash's core: the crash the follow-up names by id, or only by
   * pid when its sender had no id (an old notifier).
   */
  recordCore(crash: CrashRef, fate: CoreFate): void;
  /** Records what the chained handler (`install --chain`) did with a crash. */
  recordChain?(crash: CrashRef, fate: ChainFate): void;
  /** Reads `/proc` for the look at a held process, or why it cannot. */
  procReader: ProcReader | string;
  /**
   * Hold the process `pid` by a pidfd while `/proc/PID` is read (lib/sys/pidfd.ts), so that
   * what it said is kept only if that process was still there after: `alive`, then
   * `close`; `undefined` when no pidfd can be had.
   */
  holdPid?(pid: number): { alive(): boolean; close(): void } | undefined;
  /** True once the daemon is stopping: new crashes are answered UNAVAILABLE. */
  stopping(): boolean;
  /** Longest wait before a notifier gets its reply, in milliseconds. */
  replyTimeoutMs: number;
  /** Deadline for a client to send a whole frame, in milliseconds. */
  frameTimeoutMs: number;
  /** Most connections at once. */
  maxConnections: number;
  /** Log line sink. */
  log(line: string): void;
}

/** The daemon's log line for a crash and its outcome. */
export function crashLogLine(facts: CrashFacts, outcome: CrashOutcome): string {
  return `crash pid=${facts.pid} uid=${facts.uid} exec=${
    JSON.stringify(facts.execName)
  }: ${outcome.outcome}` +
    outcome.results.map((r) =>
      ` [${r.trigger}: ${r.outcome}${r.snapshot ? ` ${r.snapshot}` : ""}${
        r.reason ? ` (${r.reason})` : ""
      }]`
    ).join("");
}

/** The daemon's view of an extended notification. */
export function crashFactsOf(m: OnAnyCoreDumpExtMessage): CrashFacts {
  const { exe, time, replyId: _replyId, ...rest } = m;
  return {
    ...rest,
    ...(exe === undefined ? {} : { exePath: exe }),
    ...(time === undefined ? {} : { crashTime: time }),
  };
}

/** Serves the notification socket until closed. */
export class NotifyEndpoint {
  #options: NotifyEndpointOptions;
  #server: SocketServer;

  /** Start serving `listener`. */
  constructor(listener: Deno.Listener, options: NotifyEndpointOptions) {
    this.#options = options;
    this.#server = new SocketServer(listener, {
      frameTimeoutMs: options.frameTimeoutMs,
      maxConnections: options.maxConnections,
      log: (line) => options.log(`notification socket: ${line}`),
      maxPayload: (cmd) =>
        cmd === NotifyCommand.ONANYCOREDUMP
          ? ONANYCOREDUMP_C_SIZE
          : cmd === NotifyExtCommand.ONANYCOREDUMP_EXT
          ? ONANYCOREDUMP_EXT_MAX
          : cmd === NotifyExtCommand.CORE_RESULT
          ? CORE_RESULT_MAX
          : cmd === NotifyExtCommand.CHAIN_RESULT
          ? CHAIN_RESULT_MAX
          : cmd === NotifyRefCommand.CORE_RESULT_OF
          ? CORE_RESULT_OF_MAX
          : cmd === NotifyRefCommand.CHAIN_RESULT_OF
          ? CHAIN_RESULT_OF_MAX
          : -1,
      onFrameError: () =>
        encodeNotifyReply({ status: NotifyStatus.BAD_REQUEST, fired: 0, failed: 0 }),
      onFrame: (frame) =>
        frame.header.cmd === NotifyExtCommand.CORE_RESULT
          ? this.#onCoreResult(frame.payload, false)
          : frame.header.cmd === NotifyRefCommand.CORE_RESULT_OF
          ? this.#onCoreResult(frame.payload, true)
          : frame.header.cmd === NotifyExtCommand.CHAIN_RESULT
          ? this.#onChainResult(frame.payload, false)
          : frame.header.cmd === NotifyRefCommand.CHAIN_RESULT_OF
          ? this.#onChainResult(frame.payload, true)
          : this.#onNotify(frame.header.cmd, frame.payload),
    });
  }

  /** Stop accepting; answer the crashes in flight (bounded by `graceMs`), then close. */
  close(graceMs: number): Promise<void> {
    return this.#server.close(graceMs);
  }

  #onCoreResult(payload: Uint8Array, named: boolean): Promise<FrameResult> {
    try {
      const { ref, rest } = followUp(payload, named);
      const r = decodeCoreResult(rest);
      this.#options.recordCore(ref ?? { pid: r.pid }, coreFate(r));
      this.#options.log(
        `core of pid ${r.pid}${ref ? ` (crash ${ref.id})` : ""}: ${
          r.kept ? `kept in ${r.text}` : r.text
        }`,
      );
    } catch (err) {
      this.#options.log(`bad core result: ${(err as Error).message}`);
    }
    return Promise.resolve({ close: true });
  }

  // Like a core result: no reply; the socket's permissions say who may send one (root,
  // or the daemon's own user), and it lands on the crash it names (or, without an id, on
  // that daemon's one crash of `pid` still without a chain result).
  #onChainResult(payload: Uint8Array, named: boolean): Promise<FrameResult> {
    try {
      const { ref, rest } = followUp(payload, named);
      const r = decodeChainResult(rest);
      this.#options.recordChain?.(ref ?? { pid: r.pid }, chainFateOf(r));
      this.#options.log(
        `chained handler of pid ${r.pid}: ${r.outcome}${
          r.reason ? ` (${r.reason})` : ""
        }, ${r.durationMs} ms`,
      );
    } catch (err) {
      this.#options.log(`bad chain result: ${(err as Error).message}`);
    }
    return Promise.resolve({ close: true });
  }

  async #onNotify(cmd: number, payload: Uint8Array): Promise<FrameResult> {
    const o = this.#options;
    let facts: CrashFacts;
    let replyId = false;
    try {
      if (cmd === NotifyCommand.ONANYCOREDUMP) {
        facts = decodeOnAnyCoreDump(payload);
      } else {
        const m = decodeOnAnyCoreDumpExt(payload);
        replyId = m.replyId === true;
        facts = crashFactsOf(m);
      }
    } catch (err) {
      o.log(`bad notification: ${(err as Error).message}`);
      return {
        reply: encodeNotifyReply({ status: NotifyStatus.BAD_REQUEST, fired: 0, failed: 0 }),
        close: true,
      };
    }
    if (!acceptsNotification(o.uid, facts.uid)) {
      // Any process of this user can connect to this socket: a crash of another uid is
      // not this daemon's to act on. Closed with no reply (the protocol has no status
      // for it) and recorded nowhere but this line.
      o.log(
        `dropped a notification of uid ${facts.uid} (pid ${facts.pid}): this daemon serves uid ${o.uid} only`,
      );
      return { close: true };
    }
    if (o.stopping()) {
      return {
        reply: encodeNotifyReply({ status: NotifyStatus.UNAVAILABLE, fired: 0, failed: 0 }),
        close: true,
      };
    }
    const pidfd = o.holdPid?.(facts.globalPid ?? facts.pid);
    const held = {
      source: "notify",
      ...(pidfd === undefined ? {} : { alive: () => pidfd.alive() }),
    } as const;
    try {
      facts = withHeldProcess(facts, lookAtHeldProcess(facts, o.procReader, held), held);
    } finally {
      pidfd?.close();
    }
    const release = Promise.withResolvers<Uint8Array>();
    // The crash's id, once recorded: in the reply to a sender that asked for it.
    let crashId = 0;
    const reply = (r: NotifyReply) => encodeNotifyReply(replyId ? { ...r, crashId } : r);
    o.crashes.handle(
      facts,
      "notify",
      ({ fired, failed }) =>
        release.resolve(reply({
          status: failed > 0 ? NotifyStatus.ACTION_FAILED : NotifyStatus.OK,
          fired,
          failed,
        })),
      (id) => crashId = id,
    ).then((outcome) => o.log(crashLogLine(facts, outcome)), (err) => {
      o.log(`crash pid=${facts.pid}: ${(err as Error).message}`);
      release.resolve(reply({ status: NotifyStatus.ACTION_FAILED, fired: 0, failed: 1 }));
    });
    const work = release.promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<Uint8Array>((resolve) => {
      timer = setTimeout(
        () => resolve(reply({ status: NotifyStatus.TIMEOUT, fired: 0, failed: 0 })),
        o.replyTimeoutMs,
      );
    });
    try {
      return { reply: await Promise.race([work, timeout]) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A follow-up's crash (by the id it names, for commands 5 and 6) and the payload of
 * command 3 or 4 it carries.
 */
function followUp(
  payload: Uint8Array,
  named: boolean,
): { ref?: { id: number }; rest: Uint8Array } {
  if (!named) return { rest: payload };
  const { crashId, rest } = splitCrashId(payload);
  return { ref: { id: crashId }, rest };
}

/** The record of a CHAIN_RESULT: its signal by name (`SIGKILL`), as the notifier saw it. */
export function chainFateOf(m: ChainResultMessage): ChainFate {
  const { pid: _pid, signal, ...fate } = m;
  return signal === undefined ? fate : { ...fate, signal: linuxSignalName(signal) };
}
