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
  NotifyStatus,
  ONANYCOREDUMP_C_SIZE,
} from "../wire/notify.ts";
import {
  CORE_RESULT_MAX,
  decodeCoreResult,
  decodeOnAnyCoreDumpExt,
  NotifyExtCommand,
  ONANYCOREDUMP_EXT_MAX,
  type OnAnyCoreDumpExtMessage,
} from "../wire/notify_ext.ts";
import {
  CHAIN_RESULT_MAX,
  type ChainResultMessage,
  decodeChainResult,
} from "../wire/notify_ext.ts";
import type { CrashFacts } from "../trigger.ts";
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
  /** Records the fate of a crash's core. */
  recordCore(pid: number, fate: CoreFate): void;
  /** Records what the chained handler (`install --chain`) did with a crash. */
  recordChain?(pid: number, fate: ChainFate): void;
  /** Reads `/proc` for the look at a held process, or why it cannot. */
  procReader: ProcReader | string;
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
  const { exe, time, ...rest } = m;
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
          : -1,
      onFrameError: () =>
        encodeNotifyReply({ status: NotifyStatus.BAD_REQUEST, fired: 0, failed: 0 }),
      onFrame: (frame) =>
        frame.header.cmd === NotifyExtCommand.CORE_RESULT
          ? this.#onCoreResult(frame.payload)
          : frame.header.cmd === NotifyExtCommand.CHAIN_RESULT
          ? this.#onChainResult(frame.payload)
          : this.#onNotify(frame.header.cmd, frame.payload),
    });
  }

  /** Stop accepting; answer the crashes in flight (bounded by `graceMs`), then close. */
  close(graceMs: number): Promise<void> {
    return this.#server.close(graceMs);
  }

  #onCoreResult(payload: Uint8Array): Promise<FrameResult> {
    try {
      const r = decodeCoreResult(payload);
      this.#options.recordCore(r.pid, coreFate(r));
      this.#options.log(`core of pid ${r.pid}: ${r.kept ? `kept in ${r.text}` : r.text}`);
    } catch (err) {
      this.#options.log(`bad core result: ${(err as Error).message}`);
    }
    return Promise.resolve({ close: true });
  }

  // Like a core result: no reply; the socket's permissions say who may send one (root,
  // or the daemon's own user), and it lands on that daemon's own newest crash of `pid`.
  #onChainResult(payload: Uint8Array): Promise<FrameResult> {
    try {
      const r = decodeChainResult(payload);
      this.#options.recordChain?.(r.pid, chainFateOf(r));
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
    try {
      facts = cmd === NotifyCommand.ONANYCOREDUMP
        ? decodeOnAnyCoreDump(payload)
        : crashFactsOf(decodeOnAnyCoreDumpExt(payload));
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
    const held = { source: "notify" } as const;
    facts = withHeldProcess(facts, lookAtHeldProcess(facts, o.procReader, held), held);
    const release = Promise.withResolvers<Uint8Array>();
    o.crashes.handle(facts, "notify", ({ fired, failed }) =>
      release.resolve(encodeNotifyReply({
        status: failed > 0 ? NotifyStatus.ACTION_FAILED : NotifyStatus.OK,
        fired,
        failed,
      }))).then((outcome) => o.log(crashLogLine(facts, outcome)), (err) => {
        o.log(`crash pid=${facts.pid}: ${(err as Error).message}`);
        release.resolve(
          encodeNotifyReply({ status: NotifyStatus.ACTION_FAILED, fired: 0, failed: 1 }),
        );
      });
    const work = release.promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<Uint8Array>((resolve) => {
      timer = setTimeout(
        () => resolve(encodeNotifyReply({ status: NotifyStatus.TIMEOUT, fired: 0, failed: 0 })),
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

/** The record of a CHAIN_RESULT. */
export function chainFateOf(m: ChainResultMessage): ChainFate {
  const { pid: _pid, ...fate } = m;
  return fate;
}
