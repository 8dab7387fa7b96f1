/**
 * `lttng-trig set`: add a trigger.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { controlSocketPath, lttngHome } from "../core/paths.ts";
import { parseSignal, signalNames } from "../core/signals.ts";
import { parseDuration } from "../core/duration.ts";
import {
  parseCondition,
  parseRatePolicy,
  type SnapshotAction,
  type TriggerAction,
  type TriggerSpec,
  validateTriggerSpec,
} from "../core/trigger.ts";
import { ControlClient } from "../client/client.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  parseCount,
  parseSize,
  runDirOption,
} from "./common.ts";
import { type CommandSpec, parse, usageLine } from "../core/registry.ts";
import { defaultKernelFiles, type KernelFiles } from "../install/kernel_files.ts";
import { contextWarnings, patternWarnings, withRootDaemonHint } from "./newcomer.ts";

/** `set`'s options and arguments: its parsing, help, completion and man page. */
export const SET_SPEC = {
  name: "set",
  summary: "Add a trigger: act on a recording session when a process dumps core",
  description: [
    "Add a trigger to the lttng-trig daemon: when a process dumps core, act on an LTTng recording session, in time to keep the events that explain the crash. With the snapshot action, the daemon records a snapshot of the session (as 'lttng snapshot record' does), named core-<exec>-<pid>; with the stop action, it stops the session (as 'lttng stop' does).",
    "The session should be a snapshot session for the snapshot action, with the vpid and vtid contexts, added before its first start (LTTng refuses a new context once a session was started), so that 'lttng-trig show' finds the crashed process's own events:",
    "  lttng create mysession --snapshot\n  lttng add-context -u -t vpid -t vtid\n  lttng enable-event -u -a\n  lttng start",
    "set warns when the session does not exist, is not in snapshot mode or lacks those contexts, and when the kernel's core_pattern does not pass a fact that a filter needs (the signal for --signal: 'lttng-trig install' passes it). A trigger fires only when all of its filters match; its rate policy, cooldown and daily maximum limit how often it acts.",
    "Registering an identical trigger twice, or a name that is taken, is an error.",
  ],
  positionals: [
    {
      name: "WHAT",
      help: "OnAnyCoreDump (case-insensitive): any process dumps core.",
      complete: { words: ["OnAnyCoreDump"] },
    },
    {
      name: "ACTION",
      help:
        "snapshot: record a snapshot of the session, named core-<exec>-<pid>; stop: stop the session.",
      complete: { words: ["snapshot", "stop"] },
    },
  ],
  groups: {
    Filters: {
      usage: "FILTERS",
      help: "a trigger fires only when all of its filters match",
    },
    "Snapshot output": {
      usage: "OUTPUT",
      help: "snapshot only; at most one of --path, --url, --ctrl-url/--data-url",
    },
    "Snapshot retention": {
      usage: "RETENTION",
      help:
        "snapshot only; the daemon removes local snapshot directories it recorded for this trigger, and says so in history and show",
    },
  },
  options: [
    {
      name: "session",
      short: "s",
      type: "string",
      value: "SESSION",
      help:
        "Act on the recording session SESSION. Without it, the current session of $LTTNG_HOME/.lttngrc, as the lttng command uses.",
      examples: ["lttng-trig set -s mysession OnAnyCoreDump snapshot"],
      complete: "sessions",
    },
    {
      name: "name",
      short: "n",
      type: "string",
      value: "NAME",
      help:
        "Name the trigger NAME (letters, digits, '.', '_', '-') instead of the next free trigger-N.",
      examples: ["lttng-trig set -n web-crash -s web OnAnyCoreDump snapshot"],
    },
    {
      name: "rate-policy",
      type: "string",
      value: "POLICY",
      help:
        "every:N acts on every Nth matching crash; once-after:N acts once, on the Nth matching crash. Crashes are counted per uid: one user's never advance another's count. Default: every:1.",
      examples: ["lttng-trig set --rate-policy=once-after:3 OnAnyCoreDump stop"],
      complete: { words: ["every:", "once-after:"] },
    },
    {
      name: "cooldown",
      type: "string",
      value: "DURATION",
      help:
        "Act at most once per uid and exec name within DURATION (ms, s, m, h, d): a crash-looping program fires once per window.",
      examples: ["lttng-trig set --cooldown=5m OnAnyCoreDump snapshot"],
    },
    {
      name: "max-per-day",
      type: "string",
      value: "N",
      help:
        "Act at most N times on one uid's crashes in any 24 hours (a rolling window): another user's crashes never use up root's N.",
      examples: ["lttng-trig set --max-per-day=20 OnAnyCoreDump snapshot"],
    },
    {
      name: "exec",
      type: "string",
      value: "GLOB",
      help:
        "Fire only when the exec name matches GLOB, or, for a GLOB with a '/', when the executable's path (as the kernel reports it) does. Any user can name a process anything: on the root daemon, add --uid or give a path.",
      examples: ["lttng-trig set --exec='nginx*' -s web OnAnyCoreDump snapshot"],
      group: "Filters",
    },
    {
      name: "uid",
      type: "string",
      value: "UID[,UID...]",
      help: "Fire only when the crashed process's uid is one of these.",
      examples: ["lttng-trig set --uid=1000,1001 OnAnyCoreDump snapshot"],
      group: "Filters",
    },
    {
      name: "signal",
      type: "string",
      value: "SIG[,SIG...]",
      complete: { words: signalNames() },
      help:
        "Fire only when the fatal signal is one of these (name or number): the core_pattern must pass it, as 'lttng-trig install' does (not --minimal, nor the RFC's bare line); set warns otherwise.",
      examples: ["lttng-trig set --signal=SIGSEGV,SIGABRT OnAnyCoreDump snapshot"],
      group: "Filters",
    },
    {
      name: "max-size",
      type: "string",
      value: "SIZE",
      help: "Record a snapshot of at most SIZE bytes (k, M, G suffixes: powers of 1024).",
      examples: ["lttng-trig set --max-size=64M -s web OnAnyCoreDump snapshot"],
      group: "Snapshot output",
    },
    {
      name: "path",
      type: "string",
      value: "DIR",
      help:
        "Write the snapshot in the local directory DIR instead of the session's snapshot output.",
      examples: ["lttng-trig set --path=/var/crash/traces -s web OnAnyCoreDump snapshot"],
      complete: "dirs",
      group: "Snapshot output",
    },
    {
      name: "url",
      type: "string",
      value: "URL",
      help:
        "Send the snapshot to URL: file:///DIR, or net://HOST[:CTRL[:DATA]][/PATH] for an lttng-relayd.",
      examples: ["lttng-trig set --url=net://collector.example -s web OnAnyCoreDump snapshot"],
      group: "Snapshot output",
    },
    {
      name: "ctrl-url",
      type: "string",
      value: "URL",
      help: "The tcp:// control URL of an lttng-relayd; goes with --data-url.",
      examples: [
        "lttng-trig set --ctrl-url=tcp://10.0.0.2:5342 --data-url=tcp://10.0.0.2:5343 OnAnyCoreDump snapshot",
      ],
      group: "Snapshot output",
    },
    {
      name: "data-url",
      type: "string",
      value: "URL",
      help: "The tcp:// data URL of an lttng-relayd; goes with --ctrl-url.",
      examples: [
        "lttng-trig set --ctrl-url=tcp://10.0.0.2:5342 --data-url=tcp://10.0.0.2:5343 OnAnyCoreDump snapshot",
      ],
      group: "Snapshot output",
    },
    {
      name: "max-snapshots",
      type: "string",
      value: "N",
      help:
        "Keep this trigger's N newest local snapshots: within a second of each crash that takes a snapshot, the daemon removes the older snapshot directories it recorded for this trigger. Default: no count limit (the daemon-wide size and free-space limits still apply: see lttng-trig-daemon(1)).",
      examples: ["lttng-trig set --max-snapshots=10 -s web OnAnyCoreDump snapshot"],
      group: "Snapshot retention",
    },
    {
      name: "max-age",
      type: "string",
      value: "DURATION",
      help:
        "Remove this trigger's local snapshots older than DURATION (s, m, h, d suffixes), as the daemon checks within a second of each crash that takes a snapshot, and every hour.",
      examples: ["lttng-trig set --max-age=30d -s web OnAnyCoreDump snapshot"],
      group: "Snapshot retention",
    },
    runDirOption("set"),
    COMMON_HELP_OPTION,
  ],
  examples: [
    {
      text: "Snapshot the session web when nginx crashes, at most once every 5 minutes:",
      commands: ["lttng-trig set -s web --exec='nginx*' --cooldown=5m OnAnyCoreDump snapshot"],
    },
  ],
  exitStatus: [[0, "added"], [1, "refused by the daemon, or no daemon answers"], [
    2,
    "usage error",
  ]],
  files: [CONTROL_SOCKET_FILE, {
    path: "$LTTNG_HOME/.lttngrc",
    help: "Names the current session (session=NAME), used when -s is not given.",
  }],
  seeAlso: ["lttng-trig-list(1)", "lttng-trig-remove(1)", "lttng-snapshot(1)"],
} as const satisfies CommandSpec;

/** Usage line of `set`. */
export const SET_USAGE = usageLine(SET_SPEC);

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

/** `set`'s arguments: the trigger and the daemon's run directory. */
export interface SetArgs {
  /** The trigger to add. */
  spec: TriggerSpec;
  /** The session came from .lttngrc (no `-s`). */
  currentSession?: boolean;
  /** `--run-dir`. */
  runDir?: string;
}

/** Build the trigger spec from `set`'s arguments (pure but for reading .lttngrc). */
export async function parseSetArgs(argv: string[], ctx: CommandContext): Promise<SetArgs> {
  const { values, positionals } = parse(SET_SPEC, argv);
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
  const outputFlags = [
    "max-size",
    "path",
    "url",
    "ctrl-url",
    "data-url",
    "max-snapshots",
    "max-age",
  ] as const;
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
    if (values["max-snapshots"] !== undefined) {
      snap.maxSnapshots = parseCount(values["max-snapshots"], "--max-snapshots", SET_USAGE);
    }
    if (values["max-age"] !== undefined) {
      try {
        snap.maxAgeMs = parseDuration(values["max-age"]);
      } catch (err) {
        throw new UsageError(`--max-age: ${(err as Error).message}`, SET_USAGE);
      }
    }
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
    spec.condition.signals = list(values.signal, "--signal", (s) => {
      const n = parseSignal(s);
      if (n !== undefined) return n;
      throw new UsageError(
        `invalid --signal value "${s}": use a name (${
          signalNames().join(", ")
        }, with or without SIG, in any case) or a number from 1 to 64`,
        SET_USAGE,
      );
    });
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
  return {
    spec,
    runDir: values["run-dir"],
    ...(values.session === undefined ? { currentSession: true } : {}),
  };
}

/** Run `set`; `kernel` (core_pattern, for the filters' warnings) is injected by tests. */
export async function setCommand(
  argv: string[],
  ctx: CommandContext,
  kernel: KernelFiles = defaultKernelFiles,
): Promise<number> {
  const { spec, runDir, currentSession } = await parseSetArgs(argv, ctx);
  const reply = await withRootDaemonHint(
    ctx,
    runDir,
    () => new ControlClient(controlSocketPath(ctx.env, runDir)).set(spec),
  );
  const warnings = [
    ...reply.warnings,
    ...await patternWarnings(spec, kernel),
    ...await contextWarnings(spec),
  ];
  for (const w of warnings) ctx.io.err(`Warning: ${w}`);
  ctx.io.out(
    currentSession
      ? `Added trigger \`${reply.trigger.name}\` on session \`${spec.session}\` (the current session).`
      : `Added trigger \`${reply.trigger.name}\`.`,
  );
  return 0;
}
