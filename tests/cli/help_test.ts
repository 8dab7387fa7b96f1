/**
 * Help and usage errors of every command, through bin/lttng-trig: every command the
 * registry declares, every option it declares for it, explained in its help with its
 * example; no command is skipped. What each option does is tested by the tests of its
 * command, not by a copy of the registry here.
 */
import assert from "node:assert/strict";
import { PROGRAM } from "../../lib/cli/program.ts";
import { assertExit, assertUsageError, cli, show } from "./_helpers.ts";

/** The commands that `lttng-trig --help` lists under "Commands:". */
function listedCommands(mainHelp: string): string[] {
  const section = mainHelp.split(/^Commands:$/m)[1] ?? "";
  const names: string[] = [];
  for (const line of section.split("\n").slice(1)) {
    if (line.trim() === "") break;
    const m = /^ {2}([a-z][a-z0-9-]*)\s/.exec(line);
    if (m !== null) names.push(m[1]);
  }
  return names;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const mainHelp = await cli(["--help"]);
const COMMANDS = listedCommands(mainHelp.stdout);
/** Each command's help, as `lttng-trig help COMMAND` prints it. */
const HELP: Record<string, string> = {};
for (const command of COMMANDS) HELP[command] = (await cli(["help", command])).stdout;

/**
 * Whether `help` explains `option`: an indented line, other than the usage line, that
 * begins with it (after other options of the same entry, as in
 * "  -s, --session=SESSION  ..." or "      --ctrl-url=URL --data-url=URL").
 */
function explains(help: string, option: string): boolean {
  const opt = option.replace(/[-]/g, "\\-");
  const entry = new RegExp(
    `^\\s+(?:-{1,2}[A-Za-z0-9][\\w-]*(?:=\\S+)?,?\\s+)*${opt}(?:=\\S+)?(?:,|\\s|$)`,
  );
  return help.split("\n").slice(1).some((line) => entry.test(line));
}

Deno.test("lttng-trig --help, -h and help print the usage and the commands", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = await cli(args);
    assertExit(r, 0);
    assert.match(r.stdout, /^Usage: lttng-trig COMMAND/, show(r));
    assert.equal(r.stderr, "", show(r));
    assert.equal(r.stdout, mainHelp.stdout, args.join(" "));
  }
});

Deno.test("lttng-trig --version prints the version", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await cli([flag]);
    assertExit(r, 0);
    assert.match(r.stdout, /^lttng-trig \d+\.\d+\.\d+\n$/, show(r));
  }
});

Deno.test("lttng-trig without a command prints the usage on stderr and exits 2", async () => {
  const r = await cli([]);
  assertExit(r, 2);
  assert.equal(r.stdout, "", show(r));
  assert.match(r.stderr, /^Usage: lttng-trig COMMAND/m, show(r));
});

Deno.test("an unknown command is a usage error", async () => {
  const r = await cli(["bogus"]);
  assertUsageError(r, /unknown command "bogus"/);
  assertUsageError(await cli(["--bogus"]));
});

Deno.test("help COMMAND, COMMAND --help and COMMAND -h print the command's help", async (t) => {
  for (const command of COMMANDS) {
    await t.step(command, async () => {
      const help = HELP[command];
      assert.match(help, new RegExp(`^Usage: lttng-trig ${command}( |$)`, "m"), help);
      assert.ok(help.startsWith("Usage: "), help);
      for (const args of [[command, "--help"], [command, "-h"]]) {
        const r = await cli(args);
        assertExit(r, 0);
        assert.equal(r.stderr, "", show(r));
        assert.equal(r.stdout, help, args.join(" "));
      }
    });
  }
});

Deno.test("--help lists exactly the registry's commands, in its order, aligned", () => {
  assert.deepEqual(COMMANDS, PROGRAM.commands.map((c) => c.name));
  // Every summary starts in the same column (completions, the longest name, included).
  const section = mainHelp.stdout.split(/^Commands:$/m)[1].split("\n\n")[0].split("\n")
    .filter((line) => line !== "");
  const columns = section.map((line) => /^ {2}[a-z]+ +/.exec(line)?.[0].length);
  assert.equal(new Set(columns).size, 1, section.join("\n"));
});

Deno.test("each declared option has an example that uses it", async (t) => {
  for (const spec of PROGRAM.commands) {
    await t.step(spec.name, () => {
      for (const o of spec.options) {
        if (o.name === "help") continue;
        assert.ok((o.examples ?? []).length > 0, `${spec.name} --${o.name} has no example`);
        const uses = (e: string) =>
          e.includes(`--${o.name}`) || (o.short !== undefined && e.includes(`-${o.short} `));
        assert.ok(
          (o.examples ?? []).some(uses),
          `${spec.name} --${o.name}: no example uses it: ${o.examples}`,
        );
      }
    });
  }
});

Deno.test("every declared option is explained in the command's help, with its examples", async (t) => {
  for (const command of COMMANDS) {
    await t.step(command, () => {
      const spec = PROGRAM.commands.find((c) => c.name === command);
      assert.ok(spec !== undefined, command);
      const help = HELP[command];
      for (const o of spec.options) {
        assert.ok(explains(help, `--${o.name}`), `${command}: --${o.name} not explained:\n${help}`);
        if (o.short !== undefined) {
          assert.ok(explains(help, `-${o.short}`), `${command}: -${o.short} not explained`);
        }
        for (const e of o.examples ?? []) {
          assert.match(help, new RegExp(`^ +${escapeRegExp(e)}$`, "m"), `${command}: ${e}`);
        }
      }
      // The usage line names each option but --help (or its group), and each argument.
      const usage = help.split("\n")[0];
      for (const o of spec.options.filter((o) => o.name !== "help" && o.group === undefined)) {
        const shown = o.short === undefined ? `--${o.name}` : `-${o.short}`;
        assert.ok(usage.includes(`[${shown}`), `${command}: usage lacks ${shown}: ${usage}`);
      }
      assert.match(help, /^Exit status: 0 /m, command);
    });
  }
});

Deno.test("help --help, help help and help -h print the help of help", async () => {
  for (const args of [["help", "--help"], ["help", "help"], ["help", "-h"]]) {
    const r = await cli(args);
    assertExit(r, 0);
    assert.equal(r.stderr, "", show(r));
    assert.match(r.stdout, /^Usage: lttng-trig help \[COMMAND\]\n/, show(r));
  }
  assertUsageError(await cli(["help", "bogus"]), /unknown command "bogus"/);
});

Deno.test("daemon --help says actions run through liblttng-ctl, the lttng command as fallback", () => {
  const help = HELP.daemon.replace(/\s+/g, " ");
  assert.match(help, /runs each fired action through liblttng-ctl/);
  assert.match(help, /falls back to the lttng command/);
  assert.ok(explains(HELP.daemon, "--lttng-ctl"));
});

Deno.test("explains() finds option entries only", () => {
  const help = `Usage: lttng-trig x [--a] [--b=N] [--c] [--d]

  -a, --a              A.
      --b=N --e=N      B.
      --long-one=DURATION Described after one space.
  --c is only named in a sentence, see --d.
`;
  assert.ok(explains(help, "--a"));
  assert.ok(explains(help, "--b"));
  assert.ok(explains(help, "--e"));
  assert.ok(explains(help, "--long-one"));
  assert.ok(!explains(help, "--d"));
});

Deno.test("an unknown option is a usage error for every command but notify", async (t) => {
  // notify takes its arguments as data from the kernel: an exec name may start with '-'.
  for (const command of COMMANDS.filter((c) => c !== "notify")) {
    await t.step(command, async () => {
      assertUsageError(await cli([command, "--no-such-option"]), /no-such-option/);
    });
  }
});

Deno.test("bad arguments are usage errors: Error: ..., then the usage line, exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["set"], /expected WHAT and ACTION/],
    [["set", "-s", "x", "OnAnyCoreDump"], /expected WHAT and ACTION/],
    [["set", "-s", "x", "OnSomething", "snapshot"], /unknown condition "OnSomething"/],
    [["set", "-s", "x", "OnAnyCoreDump", "explode"], /unknown action "explode"/],
    [["set", "-s", "x", "--rate-policy=sometimes", "OnAnyCoreDump", "stop"], /--rate-policy/],
    [["set", "-s", "x", "--max-size=64M", "OnAnyCoreDump", "stop"], /snapshot action only/],
    [["set", "-s"], /-s/],
    [["list", "extra"], /unexpected argument "extra"/],
    [["remove"], /expected one trigger name/],
    [["history", "-n", "0"], /--lines/],
    [["daemon", "extra"], /unexpected argument "extra"/],
    [["daemon", "--action-timeout=soon"], /--action-timeout/],
    [["daemon", "--history-max=0"], /invalid --history-max "0"/],
    [
      ["daemon", "--journal-socket=run/socket"],
      /--journal-socket must be an absolute path or none/,
    ],
    [["daemon", "--history-max-age=forever"], /--history-max-age: Invalid duration "forever"/],
    [["daemon", "--metrics-dir=textfile"], /--metrics-dir must be an absolute path/],
    [["daemon", "--no-metrics", "--metrics-dir=/x"], /--metrics-dir and --no-metrics exclude/],
    [["completions"], /expected the shell/],
    [["completions", "fish"], /unsupported shell "fish"/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assertUsageError(r, message);
    // The usage line is the command's own.
    assert.match(r.stderr, new RegExp(`^Usage: lttng-trig ${args[0]} `, "m"), show(r));
  }
});
