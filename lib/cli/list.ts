/**
 * `lttng-trig list` and `lttng-trig remove`.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { describeAction, describeCondition, formatRatePolicy } from "../core/trigger.ts";
import { formatDuration } from "../core/duration.ts";
import { ControlClient } from "../client/client.ts";
import { controlSocketPath } from "../core/paths.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  jsonLine,
  printable,
  runDirOption,
  table,
} from "./common.ts";
import { type CommandSpec, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";
import { withRootDaemonHint } from "./newcomer.ts";

/** `list`'s options and arguments. */
export const LIST_SPEC = {
  name: "list",
  summary: "List the daemon's triggers",
  description: [
    "List the triggers of the lttng-trig daemon, one per line: name, session, condition (with its filters), action (with its output options), rate policy (with its cooldown and daily maximum), and how often it fired out of how many matching crashes (FIRED).",
  ],
  positionals: [],
  options: [
    {
      name: "json",
      type: "boolean",
      help: 'Print one JSON object with a "triggers" array instead of the table, for scripts.',
      examples: ["lttng-trig list --json | jq '.triggers[].name'"],
    },
    runDirOption("list"),
    COMMON_HELP_OPTION,
  ],
  exitStatus: [[0, "listed (even none)"], [1, "no daemon answers"], [2, "usage error"]],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-set(1)", "lttng-trig-remove(1)"],
} as const satisfies CommandSpec;

/** Usage line of `list`. */
export const LIST_USAGE = usageLine(LIST_SPEC);

/** `remove`'s options and arguments. */
export const REMOVE_SPEC = {
  name: "remove",
  summary: "Remove a trigger by name",
  description: [
    "Remove the trigger NAME, as 'lttng-trig list' shows it, from the lttng-trig daemon. Crashes already received keep their history.",
  ],
  positionals: [{
    name: "NAME",
    help: "The trigger's name.",
    complete: "triggers",
  }],
  options: [runDirOption("remove"), COMMON_HELP_OPTION],
  examples: [{ text: "Remove the trigger trigger-1:", commands: ["lttng-trig remove trigger-1"] }],
  exitStatus: [[0, "removed"], [1, "no such trigger, or no daemon answers"], [2, "usage error"]],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-set(1)", "lttng-trig-list(1)"],
} as const satisfies CommandSpec;

/** Usage line of `remove`. */
export const REMOVE_USAGE = usageLine(REMOVE_SPEC);

/** Run `list`. */
export async function listCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(LIST_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, LIST_USAGE);
  }
  const runDir = values["run-dir"];
  const reply = await withRootDaemonHint(
    ctx,
    runDir,
    () => new ControlClient(controlSocketPath(ctx.env, runDir)).list(),
  );
  if (values.json) {
    ctx.io.out(jsonLine(reply));
    return 0;
  }
  if (reply.triggers.length === 0) {
    ctx.io.out("No triggers.");
    return 0;
  }
  const rows = [["NAME", "SESSION", "CONDITION", "ACTION", "RATE", "FIRED"]];
  for (const t of reply.triggers) {
    rows.push([
      t.name,
      t.session,
      describeCondition(t.condition),
      describeAction(t.action),
      [
        formatRatePolicy(t.ratePolicy),
        ...(t.cooldownMs === undefined ? [] : [`cooldown=${formatDuration(t.cooldownMs)}`]),
        ...(t.maxPerDay === undefined ? [] : [`max-per-day=${t.maxPerDay}`]),
      ].join(" "),
      `${t.fired}/${t.hits}`,
    ].map(printable));
  }
  for (const line of table(rows)) ctx.io.out(line);
  return 0;
}

/** Run `remove`. */
export async function removeCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(REMOVE_SPEC, argv);
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one trigger name, got ${positionals.length} argument(s)`,
      REMOVE_USAGE,
    );
  }
  await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).remove(positionals[0]);
  ctx.io.out(`Removed trigger \`${positionals[0]}\`.`);
  return 0;
}
