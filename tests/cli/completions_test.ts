/**
 * `lttng-trig completions bash`: the script is sourced in a real bash, and its completion
 * function is called with COMP_WORDS and COMP_CWORD set as bash sets them.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import {
  addTrigger,
  assertExit,
  assertUsageError,
  cli,
  daemon,
  makeDirs,
  show,
  uniqueSession,
} from "./_helpers.ts";
import { bashCompletionScript } from "../../lib/cli/completions.ts";
import { PROGRAM } from "../../lib/cli/program.ts";
import type { ProgramSpec } from "../../lib/core/registry.ts";

/** The script, made once, in a file that bash sources. */
const scriptFile = await (async () => {
  const r = await cli(["completions", "bash"]);
  assertExit(r, 0);
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-completions-test-" });
  const file = `${dir}/lttng-trig.bash`;
  await Deno.writeTextFile(file, r.stdout);
  return file;
})();

globalThis.addEventListener("unload", () => {
  Deno.removeSync(scriptFile.slice(0, scriptFile.lastIndexOf("/")), { recursive: true });
});

interface CompleteOptions {
  /** Environment additions (a PATH with a stub lttng). */
  env?: Record<string, string>;
  /** Unset COMP_WORDBREAKS' '=' (as some users do): `--opt=value` is then one word. */
  noEqualsBreak?: boolean;
}

/**
 * Complete the last of `words` (the word under the cursor, "" for a new word) as bash
 * does; `words[0]` is the command. Resolves to COMPREPLY.
 */
async function complete(words: string[], options: CompleteOptions = {}): Promise<string[]> {
  const program = [
    `source "$1" || exit 90`,
    "shift",
    options.noEqualsBreak ? "COMP_WORDBREAKS=${COMP_WORDBREAKS//=}" : ":",
    `COMP_WORDS=("$@")`,
    "COMP_CWORD=$(($# - 1))",
    `COMP_LINE="$*"`,
    "COMP_POINT=${#COMP_LINE}",
    "_lttng_trig || exit 91",
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", program, "bash", scriptFile, ...words],
    env: options.env,
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bash exited ${out.code}\n${stdout}${stderr}`);
  // compopt outside a real completion is an error that the script silences: nothing else.
  assert.equal(stderr, "", `the completion function wrote on stderr:\n${stderr}`);
  return stdout.split("\n").filter((l) => l !== "");
}

/** Complete `lttng-trig ...words`. */
function completeArgs(words: string[], options?: CompleteOptions): Promise<string[]> {
  return complete(["lttng-trig", ...words], options);
}

/** The commands that `lttng-trig --help` lists. */
async function helpCommands(): Promise<string[]> {
  const r = await cli(["--help"]);
  assertExit(r, 0);
  const section = r.stdout.split(/^Commands:$/m)[1].split(/^\S/m)[0];
  return [...section.matchAll(/^ {2}([a-z]+)\s/gm)].map((m) => m[1]);
}

/** A PATH whose `lttng` prints a fixed session list, as LTTng 2.13's `lttng list`. */
async function stubLttng(dir: string): Promise<Record<string, string>> {
  await Deno.writeTextFile(
    `${dir}/lttng`,
    `#!/bin/sh
cat <<'EOF'
Available recording sessions:
  1) web-snap [active snapshot]
    Trace output: /root/lttng-traces/web-snap-20261126-055740

  2) worker [inactive]

Use lttng list <session_name> for more details
EOF
`,
    { mode: 0o755 },
  );
  return { PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
}

Deno.test("completions bash prints a script that bash accepts", async () => {
  const r = await cli(["completions", "bash"]);
  assertExit(r, 0);
  assert.equal(r.stderr, "", show(r));
  assert.match(r.stdout, /^complete -F _lttng_trig lttng-trig$/m);
  const check = await new Deno.Command("bash", { args: ["-n", scriptFile] }).output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
});

Deno.test("completions rejects another shell or a missing one as a usage error", async () => {
  assertUsageError(await cli(["completions", "zsh"]), /unsupported shell "zsh"/);
  assertUsageError(await cli(["completions"]), /expected the shell/);
  assertUsageError(await cli(["completions", "bash", "--bogus"]));
});

Deno.test("the first word completes to every command of --help, and help", async () => {
  const commands = await helpCommands();
  assert.ok(commands.includes("set") && commands.includes("notify"), commands.join(" "));
  const got = await completeArgs([""]);
  assert.deepEqual(got.toSorted(), [...new Set([...commands, "help"])].toSorted());
  assert.deepEqual(await completeArgs(["re"]), ["remove"]);
  assert.deepEqual(await completeArgs(["--v"]), ["--version"]);
});

Deno.test("each command completes exactly the options its spec declares", async (t) => {
  for (const spec of PROGRAM.commands) {
    await t.step(spec.name, async () => {
      const expected = spec.options.flatMap((o) => [
        ...(o.short === undefined ? [] : [`-${o.short}`]),
        o.type === "string" ? `--${o.name}=` : `--${o.name}`,
      ]);
      const words = spec.name === "help" ? ["-h", "--help"] : expected;
      assert.deepEqual((await completeArgs([spec.name, "-"])).toSorted(), words.toSorted());
    });
  }
});

Deno.test("the script does not depend on help text: other prose gives the same script", () => {
  const prose = "Other words, with a 'quote', --an-option=X and SESSION in them.";
  const reworded: ProgramSpec = {
    ...PROGRAM,
    description: [prose],
    commands: PROGRAM.commands.map((c) => ({
      ...c,
      summary: prose,
      description: [prose],
      notes: [prose],
      examples: [],
      options: c.options.map((o) => ({ ...o, help: prose, examples: [] })),
      positionals: c.positionals.map((p) => ({ ...p, help: prose })),
    })),
  };
  assert.equal(bashCompletionScript(reworded), bashCompletionScript(PROGRAM));
});

Deno.test("set completes WHAT, then ACTION, case-insensitively, past options and values", async () => {
  assert.deepEqual(await completeArgs(["set", ""]), ["OnAnyCoreDump"]);
  assert.deepEqual(await completeArgs(["set", "onany"]), ["OnAnyCoreDump"]);
  assert.deepEqual(await completeArgs(["set", "OnAnyCoreDump", ""]), ["snapshot", "stop"]);
  assert.deepEqual(await completeArgs(["set", "OnAnyCoreDump", "sn"]), ["snapshot"]);
  // Option values are not positionals: "-s web", "--exec = 'a*'" (bash splits at '='),
  // "--uid=1000" when '=' does not split words.
  assert.deepEqual(
    await completeArgs(["set", "-s", "web", "--exec", "=", "a*", "OnAnyCoreDump", ""]),
    ["snapshot", "stop"],
  );
  assert.deepEqual(
    await completeArgs(["set", "--uid=1000", "OnAnyCoreDump", "st"], { noEqualsBreak: true }),
    ["stop"],
  );
  assert.deepEqual(await completeArgs(["set", "OnAnyCoreDump", "stop", ""]), []);
});

Deno.test("-s and --session complete the session names of lttng list", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-completions-test-" });
  try {
    const env = await stubLttng(dir);
    assert.deepEqual(await completeArgs(["set", "-s", ""], { env }), ["web-snap", "worker"]);
    assert.deepEqual(await completeArgs(["set", "-s", "we"], { env }), ["web-snap"]);
    assert.deepEqual(await completeArgs(["set", "--session", "=", "wo"], { env }), ["worker"]);
    assert.deepEqual(
      await completeArgs(["set", "--session=w"], { env, noEqualsBreak: true }),
      ["--session=web-snap", "--session=worker"],
    );
    // No session daemon: no names, and nothing on the terminal.
    await Deno.writeTextFile(
      `${dir}/lttng`,
      "#!/bin/sh\necho 'Error: No session daemon is available' >&2\nexit 1\n",
    );
    assert.deepEqual(await completeArgs(["set", "-s", ""], { env }), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("remove completes the trigger names of the daemon given by --run-dir", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-n", "web-crash", "-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  await addTrigger(dirs, [
    "-n",
    "worker-stop",
    "-s",
    uniqueSession(),
    "--exec=work*",
    "OnAnyCoreDump",
    "stop",
  ]);
  const generated = await addTrigger(dirs, [
    "-s",
    uniqueSession(),
    "--path=/tmp/x",
    "OnAnyCoreDump",
    "snapshot",
  ]);

  const split = await complete([LAUNCHER, "remove", "--run-dir", "=", dirs.run, ""]);
  assert.deepEqual(split.toSorted(), [generated, "web-crash", "worker-stop"].toSorted());
  assert.deepEqual(await complete([LAUNCHER, "remove", "--run-dir", dirs.run, "w"]), [
    "web-crash",
    "worker-stop",
  ]);
  // Another run directory: no daemon there, no names, no noise.
  assert.deepEqual(
    await complete([LAUNCHER, "remove", `--run-dir=${dirs.scratch}`, ""], { noEqualsBreak: true }),
    [],
  );
});

Deno.test("DIR options complete directories, --rate-policy its two forms", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-completions-test-" });
  try {
    await Deno.mkdir(`${dir}/runs here`);
    await Deno.writeTextFile(`${dir}/runs.txt`, "");
    assert.deepEqual(await completeArgs(["daemon", "--run-dir", "=", `${dir}/ru`]), [
      `${dir}/runs here`,
    ]);
    assert.deepEqual(await completeArgs(["list", "--run-dir", `${dir}/ru`]), [`${dir}/runs here`]);
    assert.deepEqual(await completeArgs(["set", "--rate-policy", "=", ""]), [
      "every:",
      "once-after:",
    ]);
    assert.deepEqual(await completeArgs(["set", "--rate-policy", "=", "on"]), ["once-after:"]);
    assert.deepEqual(await completeArgs(["daemon", "--action-timeout", "=", ""]), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help and completions complete their one argument", async () => {
  assert.deepEqual(await completeArgs(["help", "un"]), ["uninstall"]);
  assert.deepEqual(await completeArgs(["completions", ""]), ["bash"]);
  assert.deepEqual(await completeArgs(["list", ""]), []);
  assert.deepEqual(await completeArgs(["notify", ""]), []);
});

Deno.test("--signal completes the names of the signals that dump core", async () => {
  assert.deepEqual(await completeArgs(["set", "--signal", "=", "SIGS"]), ["SIGSEGV", "SIGSYS"]);
  assert.deepEqual(await completeArgs(["set", "--signal", "=", "SIGA"]), ["SIGABRT"]);
});
