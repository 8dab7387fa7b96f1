/**
 * `lttng-trig notify %p %u %g %e %h`: the entry point the kernel runs.
 *
 * @module
 */
import { kernelSplitsExecName, parseNotifyArgs } from "./args.ts";
import { DEFAULT_HOLD_MS, runNotifier } from "./notifier.ts";
import type { Delivery } from "./deliver.ts";
import { NotifyStatus } from "../wire/notify.ts";
import { denoNotifierIo, journalFailure } from "./io.ts";
import { processPathEnv, resolveStateDir, ROOT_STATE_DIR } from "../core/paths.ts";
import { hasChain } from "../core/chain_words.ts";

/** Run the notifier on the words after `notify`; resolves to the exit code. */
export async function notifyMain(words: string[]): Promise<number> {
  // A lone -h/--help is a user asking: the kernel always passes the five words, and an
  // exec name "--help" among them stays data. Without this, it would notify the root
  // daemon of a crash of pid 0.
  if (words.length === 0 || (words.length === 1 && (words[0] === "--help" || words[0] === "-h"))) {
    const { NOTIFY_HELP } = await import("./help.ts");
    if (words.length === 0) {
      // Nothing to notify: the kernel never runs it so; a person did, by mistake.
      console.error("Error: notify needs the crash's %p %u %g %e %h (the kernel gives them)");
      console.error(NOTIFY_HELP.trimEnd().split("\n")[0]);
      return 2;
    }
    console.log(NOTIFY_HELP.trimEnd());
    return 0;
  }
  // Asked only when the words are more than five. Deno.osRelease(): Deno refuses reads
  // under /proc without --allow-all.
  let args = parseNotifyArgs(words, () => {
    try {
      return kernelSplitsExecName(Deno.osRelease());
    } catch {
      return false; // unknown: assume a current kernel
    }
  });
  // %F: the crash's pid, uid and gid from the kernel's pidfd of it (loaded only then).
  if (args.pidfd !== undefined) {
    args = (await import("./identity.ts")).withPidfdIdentity(args);
  }
  const coreDir = args.coreDir;
  const keep = coreDir === undefined ? undefined : async (core: ReadableStream<Uint8Array>) => {
    const { keepCore } = await import("./core_keeper.ts");
    return keepCore(core, {
      dir: coreDir,
      execName: args.execName,
      uid: args.uid ?? 0xffff_ffff,
      pid: args.pid,
      time: args.facts?.time,
      // --core-limit=ignore: every core is kept, as systemd-coredump keeps them.
      coreLimit: args.coreLimit === "ignore" ? undefined : args.facts?.coreLimit,
    });
  };
  let stateDir = args.stateDir ?? ROOT_STATE_DIR;
  try {
    stateDir = resolveStateDir(processPathEnv(), args.stateDir);
  } catch { /* no HOME: keep the root default */ }
  // `install --chain`: the previous crash handler runs once the replies are in (or the
  // daemons are absent), and holds the crash until it is done. Loaded only then.
  const chained = hasChain(words)
    ? (await import("./chain_release.ts")).chainedRelease(words, stateDir, keep)
    : undefined;
  const io = chained !== undefined
    ? { ...denoNotifierIo, releaseCore: chained.releaseCore }
    : keep === undefined
    ? denoNotifierIo
    : {
      ...denoNotifierIo,
      // Keeping the core comes after the replies, so it never delays a snapshot.
      releaseCore: () => keep(Deno.stdin.readable),
    };
  const timeoutMs = args.timeoutMs ?? DEFAULT_HOLD_MS;
  const run = await runNotifier(args, io, {
    runDir: args.runDir,
    timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
    followUps: chained !== undefined || coreDir !== undefined,
  });
  if (chained !== undefined) {
    // After the release: the daemons that replied record what the handler did.
    const { sendToReplied } = await import("./follow_up.ts");
    const tell = (frame: Uint8Array) => sendToReplied(run.deliveries, args.uid, frame, io);
    run.failures.push(...(await chained.record(args, tell)));
  }
  if (Deno.env.get("LTTNG_TRIG_DEBUG")) console.error(JSON.stringify(run));
  if (run.failures.length === 0) return 0;
  await journalFailure(stateDir, {
    time: new Date().toISOString(),
    pid: args.pid,
    ...(args.uid === undefined ? {} : { uid: args.uid }),
    exec: args.execName,
    gid: args.gid,
    host: args.hostname,
    ...(args.facts?.signal === undefined ? {} : { signal: args.facts.signal }),
    // No root daemon got it: its next start imports it into the history.
    ...(run.deliveries.some(rootGotIt) ? {} : { rootMissed: true as const }),
    failures: run.failures,
  }).catch(() => {});
  return 1;
}

/** Did the root daemon get the crash into its history (not while stopping)? */
function rootGotIt(d: Delivery): boolean {
  return d.target === "root" &&
    (d.outcome === "sent" || (d.outcome === "replied" && d.status !== NotifyStatus.UNAVAILABLE));
}
