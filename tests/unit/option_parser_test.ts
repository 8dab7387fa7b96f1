/**
 * The relations between options that a spec declares (`conflicts`, `depends`): the parser
 * refuses them for every command, and help says them.
 */
import assert from "node:assert/strict";
import { optionRelationError, parse } from "../../lib/core/option_parser.ts";
import { type CommandSpec, optionHelp } from "../../lib/core/registry.ts";
import { PROGRAM } from "../../lib/cli/program.ts";
import { parseInstallArgs } from "../../lib/cli/install_args.ts";

const SPEC = {
  name: "x",
  summary: "",
  description: [],
  positionals: [],
  exitStatus: [],
  options: [
    { name: "all", type: "boolean", help: "All.", conflicts: ["one"] },
    { name: "one", type: "string", help: "One." },
    { name: "fast", type: "boolean", help: "Fast." },
    {
      name: "slow",
      type: "boolean",
      help: "Slow.",
      conflicts: [{ option: "fast", error: "--slow is not --fast" }],
    },
    { name: "wait", type: "string", default: "5", help: "how long.", depends: ["slow"] },
  ],
} as const satisfies CommandSpec;

Deno.test("parse() refuses options that exclude each other, and one given without what it needs", () => {
  const cases: [string[], RegExp][] = [
    [["--all", "--one=1"], /^UsageError: --all and --one exclude each other$/],
    [["--one=1", "--all"], /^UsageError: --all and --one exclude each other$/],
    [["--slow", "--fast"], /^UsageError: --slow is not --fast$/],
    [["--wait=3"], /^UsageError: --wait goes with --slow$/],
    [["--wait=3", "--all", "--one=1"], /^UsageError: --all and --one exclude each other$/],
  ];
  for (const [argv, error] of cases) assert.throws(() => parse(SPEC, argv), error, argv.join(" "));
  assert.equal(parse(SPEC, ["--slow", "--wait=3"]).values.wait, "3");
  // A default is not given: it needs nothing and excludes nothing.
  assert.equal(parse(SPEC, ["--fast"]).values.wait, "5");
  assert.equal(optionRelationError(SPEC.options, new Set(["all", "fast"])), undefined);
});

Deno.test("optionHelp() says what an option needs and excludes", () => {
  assert.equal(optionHelp(SPEC.options[0]), "All. Not with --one.");
  assert.equal(optionHelp(SPEC.options[4]), "With --slow: how long. Default: 5.");
});

Deno.test("every option relation of the registry names an option of the same command", () => {
  for (const spec of PROGRAM.commands) {
    const names = new Set(spec.options.map((o) => o.name));
    for (const o of spec.options) {
      const related = [
        ...(o.conflicts ?? []).map((c) => typeof c === "string" ? c : c.option),
        ...o.depends ?? [],
      ];
      for (const other of related) {
        assert.ok(names.has(other) && other !== o.name, `${spec.name} --${o.name}: --${other}`);
      }
    }
  }
});

Deno.test("install's option relations keep their words", () => {
  const cases: [string[], string][] = [
    [
      ["--socket", "--exe=/x"],
      "--exe applies to the notifier, not to --socket (in socket mode the daemon keeps cores: 'lttng-trig daemon --core-dir=DIR')",
    ],
    [
      ["--chain", "--socket", "--facts"],
      "--facts applies to the notifier, not to --socket (in socket mode the daemon keeps cores: 'lttng-trig daemon --core-dir=DIR')",
    ],
    [
      ["--socket", "--chain"],
      "--chain applies to the notifier, not to --socket (the kernel connects to one socket only)",
    ],
    [["--run-dir=/r"], "--run-dir goes with --socket"],
    [["--chain-timeout=5"], "--chain-timeout goes with --chain"],
    [["--minimal", "--facts"], "--minimal goes without --facts (--facts passes the crash facts)"],
    [["--core-limit=ignore"], "--core-limit goes with --core-dir"],
  ];
  for (const [argv, error] of cases) {
    assert.throws(() => parseInstallArgs(argv), { name: "UsageError", message: error });
  }
  assert.equal(parseInstallArgs(["--chain", "--chain-timeout=5"]).chainTimeoutMs, 5000);
  assert.equal(parseInstallArgs(["--socket", "--run-dir=/r"]).runDir, "/r");
});
