/**
 * The notifier with nothing else: no main.ts dispatch, no lib/notify/cli.ts (core keeping,
 * journal, help). Measurement 2 runs it, and its `deno bundle`, to show what the module
 * graph of main.ts costs the notifier's start. Same arguments as `lttng-trig notify`.
 *
 * @module
 */
import { kernelSplitsExecName, parseNotifyArgs } from "../lib/notify/args.ts";
import { DEFAULT_HOLD_MS, runNotifier } from "../lib/notify/notifier.ts";
import { denoNotifierIo } from "../lib/notify/io.ts";

const release = await Deno.readTextFile("/proc/sys/kernel/osrelease").catch(() => "");
const args = parseNotifyArgs(Deno.args, kernelSplitsExecName(release));
const timeoutMs = args.timeoutMs ?? DEFAULT_HOLD_MS;
const run = await runNotifier(args, denoNotifierIo, {
  runDir: args.runDir,
  timeoutMs,
  signal: AbortSignal.timeout(timeoutMs),
});
Deno.exit(run.failures.length === 0 ? 0 : 1);
