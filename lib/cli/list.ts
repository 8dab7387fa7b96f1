/**
 * `lttng-trig list` and `lttng-trig remove`.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { describeAction, describeCondition, formatDuration, formatRatePolicy } from "../trigger.ts";
import { ControlClient } from "../client/client.ts";
import {
  CLIENT_OPTIONS,
  type CommandContext,
  controlSocketPath,
  parseCommandArgs,
  table,
} from "./common.ts";

/** Usage line of `list`. */
export const LIST_USAGE = "lttng-trig list [--json] [--run-dir=DIR]";

/** Help of `list`. */
export const LIST_HELP = `Usage: ${LIST_USAGE}

List the daemon's triggers, one per line: name, session, condition (with its filters),
action (with its output options), rate policy, and how often it fired.

Options:
      --json          One JSON object with a "triggers" array, for scripts.
                        lttng-trig list --json | jq '.triggers[].name'
      --run-dir=DIR   The daemon's run directory.
  -h, --help          Show this help.
`;

/** Usage line of `remove`. */
export const REMOVE_USAGE = "lttng-trig remove [--run-dir=DIR] NAME";

/** Help of `remove`. */
export const REMOVE_HELP = `Usage: ${REMOVE_USAGE}

Remove the trigger NAME (as 'lttng-trig list' shows it).
  lttng-trig remove trigger-1

Options:
      --run-dir=DIR   The daemon's run directory.
  -h, --help          Show this help.
`;

/** Run `list`. */
export async function listCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CLIENT_OPTIONS,
    json: { type: "boolean" },
  }, LIST_USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, LIST_USAGE);
  }
  const reply = await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).list();
  if (values.json) {
    ctx.io.out(JSON.stringify(reply));
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
    ]);
  }
  for (const line of table(rows)) ctx.io.out(line);
  return 0;
}

/** Run `remove`. */
export async function removeCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, CLIENT_OPTIONS, REMOVE_USAGE);
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
