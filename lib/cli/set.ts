/**
 * `lttng-trig set`: add a trigger.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { lttngHome } from "../paths.ts";
import { parseSignal } from "../signals.ts";
import {
  parseCondition,
  parseDuration,
  parseRatePolicy,
  type SnapshotAction,
  type TriggerAction,
  type TriggerSpec,
  validateTriggerSpec,
} from "../trigger.ts";
import { ControlClient } from "../client/client.ts";
import {
  CLIENT_OPTIONS,
  type CommandContext,
  controlSocketPath,
  parseCommandArgs,
  parseCount,
  parseSize,
} from "./common.ts";

/** Usage line of `set`. */
export const SET_USAGE =
  "lttng-trig set [-s SESSION] [-n NAME] [--rate-policy=POLICY] [--cooldown=DURATION] [--max-per-day=N] [FILTERS] [OUTPUT] OnAnyCoreDump snapshot|stop";

/** Help of `set`. */
export const SET_HELP = `Usage: ${SET_USAGE}

Add a trigger: when a process dumps core, act on an LTTng recording session.

  WHAT    OnAnyCoreDump (case-insensitive): any process dumps core.
  ACTION  snapshot: 'lttng snapshot record' on the session, named core-<exec>-<pid>.
          stop:     'lttng stop' on the session.

Options:
  -s, --session=SESSION   Session to act on. Default: the current session of
                          $LTTNG_HOME/.lttngrc, as the lttng command uses.
                            lttng-trig set -s mysession OnAnyCoreDump snapshot
  -n, --name=NAME         Trigger name (letters, digits, '.', '_', '-'); default trigger-N.
                            lttng-trig set -n web-crash -s web OnAnyCoreDump snapshot
      --rate-policy=POLICY
                          every:N      act on every Nth matching crash (default every:1)
                          once-after:N act once, on the Nth matching crash
                            lttng-trig set --rate-policy=once-after:3 OnAnyCoreDump stop
      --cooldown=DURATION At most one action per exec name within DURATION (ms, s, m,
                          h, d): a crash-looping program fires once per window.
                            lttng-trig set --cooldown=5m OnAnyCoreDump snapshot
      --max-per-day=N     At most N actions in any 24 hours (rolling window).
                            lttng-trig set --max-per-day=20 OnAnyCoreDump snapshot

Filters (a trigger fires only when all of its filters match):
      --exec=GLOB         Exec name (or executable path where known) matches GLOB.
                            lttng-trig set --exec='nginx*' -s web OnAnyCoreDump snapshot
      --uid=UID[,UID...]  The crashed process's uid is one of these.
                            lttng-trig set --uid=1000,1001 OnAnyCoreDump snapshot
      --signal=SIG[,SIG...]
                          The fatal signal is one of these (name or number), where the
                          notifier knows it.
                            lttng-trig set --signal=SIGSEGV,SIGABRT OnAnyCoreDump snapshot

Snapshot output (snapshot only; at most one of --path, --url, --ctrl-url/--data-url):
      --max-size=SIZE     Largest snapshot (k, M, G suffixes).   --max-size=64M
      --path=DIR          Local directory instead of the session's snapshot output.
                            --path=/var/crash/traces
      --url=URL           file:///DIR, or net://HOST[:CTRL[:DATA]][/PATH] for an
                          lttng-relayd.               --url=net://collector.example
      --ctrl-url=URL --data-url=URL
                          tcp:// control and data URLs of an lttng-relayd.
                            --ctrl-url=tcp://10.0.0.2:5342 --data-url=tcp://10.0.0.2:5343

Common options:
      --run-dir=DIR       The daemon's run directory (default /var/run/lttng for root,
                          $LTTNG_HOME/.lttng otherwise).
  -h, --help              Show this help.

Registering an identical trigger twice, or a name that is taken, is an error.
`;

/** The current session named in `$LTTNG_HOME/.lttngrc`, if any. */
export async function currentSession(ctx: CommandContext): Promise<string | undefined> {
  const home = lttngHome(ctx.env);
  if (home === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(`${home}/.lttngrc`);
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const m = /^\s*session\s*=\s*(.+?)\s*$/.exec(line);
    if (m !== null) return m[1];
  }
  return undefined;
}

function list<T>(text: string, option: string, parse: (s: string) => T | undefined): T[] {
  const items = text.split(",").map((s) => s.trim());
  const out: T[] = [];
  for (const item of items) {
    const v = parse(item);
    if (v === undefined) {
      throw new UsageError(`invalid ${option} value "${item}" in "${text}"`, SET_USAGE);
    }
    out.push(v);
  }
  return out;
}

const SET_OPTIONS = {
  ...CLIENT_OPTIONS,
  session: { type: "string", short: "s" },
  name: { type: "string", short: "n" },
  "rate-policy": { type: "string" },
  cooldown: { type: "string" },
  "max-per-day": { type: "string" },
  exec: { type: "string" },
  uid: { type: "string" },
  signal: { type: "string" },
  "max-size": { type: "string" },
  path: { type: "string" },
  url: { type: "string" },
  "ctrl-url": { type: "string" },
  "data-url": { type: "string" },
} as const;

/** `set`'s arguments: the trigger and the daemon's run directory. */
export interface SetArgs {
  /** The trigger to add. */
  spec: TriggerSpec;
  /** `--run-dir`. */
  runDir?: string;
}

/** Build the trigger spec from `set`'s arguments (pure but for reading .lttngrc). */
export async function parseSetArgs(argv: string[], ctx: CommandContext): Promise<SetArgs> {
  const { values, positionals } = parseCommandArgs(argv, SET_OPTIONS, SET_USAGE);
  if (positionals.length !== 2) {
    throw new UsageError(
      `expected WHAT and ACTION (OnAnyCoreDump snapshot|stop), got ${positionals.length} argument(s)`,
      SET_USAGE,
    );
  }
  const [what, actionWord] = positionals;
  const condType = parseCondition(what);
  if (condType === undefined) {
    throw new UsageError(`unknown condition "${what}": the only one is OnAnyCoreDump`, SET_USAGE);
  }
  const kind = actionWord.toLowerCase();
  if (kind !== "snapshot" && kind !== "stop") {
    throw new UsageError(`unknown action "${actionWord}": use snapshot or stop`, SET_USAGE);
  }
  const outputFlags = ["max-size", "path", "url", "ctrl-url", "data-url"] as const;
  let action: TriggerAction;
  if (kind === "stop") {
    const given = outputFlags.filter((f) => values[f] !== undefined);
    if (given.length > 0) {
      throw new UsageError(`--${given[0]} applies to the snapshot action only`, SET_USAGE);
    }
    action = { type: "stop" };
  } else {
    const snap: SnapshotAction = { type: "snapshot" };
    if (values["max-size"] !== undefined) {
      snap.maxSize = parseSize(values["max-size"], "--max-size", SET_USAGE);
    }
    if (values.path !== undefined) snap.path = values.path;
    if (values.url !== undefined) snap.url = values.url;
    if (values["ctrl-url"] !== undefined) snap.ctrlUrl = values["ctrl-url"];
    if (values["data-url"] !== undefined) snap.dataUrl = values["data-url"];
    action = snap;
  }
  const session = values.session ?? await currentSession(ctx);
  if (session === undefined) {
    throw new UsageError(
      "no session given and no current session in .lttngrc: pass -s SESSION",
      SET_USAGE,
    );
  }
  const spec: TriggerSpec = { session, condition: { type: condType }, action };
  if (values.name !== undefined) spec.name = values.name;
  if (values.exec !== undefined) spec.condition.exec = values.exec;
  if (values.uid !== undefined) {
    spec.condition.uids = list(
      values.uid,
      "--uid",
      (s) => /^\d{1,10}$/.test(s) && Number(s) < 0xffff_ffff ? Number(s) : undefined,
    );
  }
  if (values.signal !== undefined) {
    spec.condition.signals = list(values.signal, "--signal", parseSignal);
  }
  if (values["rate-policy"] !== undefined) {
    try {
      spec.ratePolicy = parseRatePolicy(values["rate-policy"]);
    } catch (err) {
      throw new UsageError(`--rate-policy: ${(err as Error).message}`, SET_USAGE);
    }
  }
  if (values.cooldown !== undefined) {
    try {
      spec.cooldownMs = parseDuration(values.cooldown);
    } catch (err) {
      throw new UsageError(`--cooldown: ${(err as Error).message}`, SET_USAGE);
    }
  }
  if (values["max-per-day"] !== undefined) {
    spec.maxPerDay = parseCount(values["max-per-day"], "--max-per-day", SET_USAGE);
  }
  const problems = validateTriggerSpec(spec);
  if (problems.length > 0) throw new UsageError(problems.join("; "), SET_USAGE);
  return { spec, runDir: values["run-dir"] };
}

/** Run `set`. */
export async function setCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { spec, runDir } = await parseSetArgs(argv, ctx);
  const reply = await new ControlClient(controlSocketPath(ctx.env, runDir)).set(spec);
  for (const w of reply.warnings) ctx.io.err(`Warning: ${w}`);
  ctx.io.out(`Added trigger \`${reply.trigger.name}\`.`);
  return 0;
}
