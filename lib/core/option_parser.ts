/**
 * A command's argument parser, made from its {@linkcode CommandSpec}: strict parsing with
 * `node:util`'s parseArgs, the defaults, and the relations between options that the spec
 * declares (`conflicts`, `depends`), enforced here for every command.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";
import { type CommandSpec, type OptionSpec, usageLine } from "./registry.ts";

/** The parsed values of `spec`'s options: a string or a boolean per option, by long name. */
export type OptionValues<S extends { readonly options: readonly OptionSpec[] }> =
  & {
    [O in S["options"][number] as O extends { default: string } ? O["name"] : never]: string;
  }
  & {
    [O in S["options"][number] as O extends { default: string } ? never : O["name"]]?:
      O["type"] extends "boolean" ? boolean : string;
  };

/** What {@linkcode parse} returns. */
export interface Parsed<S extends { readonly options: readonly OptionSpec[] }> {
  /** Options by long name. */
  values: OptionValues<S>;
  /** Positional arguments, unchecked: the command checks how many it got. */
  positionals: string[];
}

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parse `argv` by `spec`: `--name VALUE`, `--name=VALUE`, `-s VALUE`, `-sVALUE`, and
 * positionals anywhere (after `--`, everything is positional). Options given together
 * that the spec says exclude each other, or an option given without one it needs, are
 * refused (see {@linkcode optionRelationError}). Absent options get their `default`.
 * Errors are {@linkcode UsageError}s with the command's usage line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parse } from "./option_parser.ts";
 * const spec = {
 *   name: "x", summary: "", description: [], positionals: [], exitStatus: [],
 *   options: [
 *     { name: "lines", short: "n", type: "string", default: "50", help: "N." },
 *     { name: "all", type: "boolean", help: "All.", conflicts: ["lines"] },
 *   ],
 * } as const;
 * assert.equal(parse(spec, []).values.lines, "50");
 * assert.equal(parse(spec, ["-n", "3", "a"]).values.lines, "3");
 * assert.throws(() => parse(spec, ["--bogus"]), /Unknown option '--bogus'/);
 * assert.throws(() => parse(spec, ["--all", "-n", "3"]), /--lines and --all exclude each other/);
 * ```
 */
export function parse<S extends CommandSpec>(spec: S, argv: string[]): Parsed<S> {
  const options: ParseOptions = {};
  for (const o of spec.options) {
    options[o.name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }) };
  }
  const usage = usageLine(spec);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(msg.replace(/\.$/, ""), usage, { cause: err });
  }
  const values: Record<string, unknown> = { ...parsed.values };
  const given = new Set(Object.keys(values).filter((name) => values[name] !== undefined));
  const error = optionRelationError(spec.options, given);
  if (error !== undefined) throw new UsageError(error, usage);
  for (const o of spec.options) {
    if (o.default !== undefined && values[o.name] === undefined) values[o.name] = o.default;
  }
  return { values: values as OptionValues<S>, positionals: parsed.positionals };
}

/**
 * The usage error for options `given` together against the relations `options`
 * declare, or `undefined` when they hold: first every conflict, then every option needed
 * and missing, each in the order the options are declared. A conflict's message is its
 * own `error`, else `--A and --B exclude each other` (in declaration order); a missing
 * option's is `--A goes with --B`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optionRelationError } from "./option_parser.ts";
 * const options = [
 *   { name: "chain", type: "boolean", help: "" },
 *   { name: "chain-timeout", type: "string", help: "", depends: ["chain"] },
 * ] as const;
 * assert.equal(
 *   optionRelationError(options, new Set(["chain-timeout"])),
 *   "--chain-timeout goes with --chain",
 * );
 * assert.equal(optionRelationError(options, new Set(["chain", "chain-timeout"])), undefined);
 * ```
 */
export function optionRelationError(
  options: readonly OptionSpec[],
  given: ReadonlySet<string>,
): string | undefined {
  const order = (name: string) => options.findIndex((o) => o.name === name);
  for (const o of options) {
    if (!given.has(o.name)) continue;
    for (const c of o.conflicts ?? []) {
      const other = typeof c === "string" ? c : c.option;
      if (!given.has(other)) continue;
      if (typeof c !== "string") return c.error;
      const [a, b] = order(o.name) <= order(other) ? [o.name, other] : [other, o.name];
      return `--${a} and --${b} exclude each other`;
    }
  }
  for (const o of options) {
    if (!given.has(o.name)) continue;
    const missing = (o.depends ?? []).find((d) => !given.has(d));
    if (missing !== undefined) return `--${o.name} goes with --${missing}`;
  }
  return undefined;
}
