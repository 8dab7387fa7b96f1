/**
 * install passes the crash facts by default, `--minimal` writes the RFC's bare line, and a
 * line too long for the kernel falls back to the bare one with a warning; what a pattern
 * gives a trigger's filters. In process, on a pretend kernel, without root.
 */
import assert from "node:assert/strict";
import { installCommand } from "../../lib/cli/install.ts";
import { runCli } from "../../lib/cli/main.ts";
import { CORE_PATTERN_PATH } from "../../lib/install/kernel_files.ts";
import {
  corePatternFor,
  kernelHasPidfdSpecifier,
  patternFacts,
  unservedFilters,
} from "../../lib/install/pattern.ts";
import { capture, EXE, FakeKernel, onFake } from "../fixtures/install.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const BARE = "|/usr/bin/lttng-trig notify %p %u %g %e %h";
const FACTS = "|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h";

async function install(args: string[], kernel: FakeKernel, exe?: string) {
  await using state = await tempDir("ltt-facts-");
  const c = capture();
  const code = await installCommand(
    [`--state-dir=${state.path}`, ...(exe === undefined ? [] : [`--exe=${exe}`]), ...args],
    c.ctx,
    onFake(kernel),
  );
  return { code, ...c };
}

Deno.test("install passes the crash facts by default; --minimal writes the RFC's line", async () => {
  let kernel = new FakeKernel();
  let r = await install([], kernel);
  assert.equal(r.code, 0, r.err.join("\n"));
  // With the kernel's pidfd of the crash (%F) where the kernel has it (Linux 6.16+).
  const pidfd = kernelHasPidfdSpecifier(Deno.osRelease());
  assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE, facts: true, pidfd }));
  assert.deepEqual(r.err, []);
  kernel = new FakeKernel();
  r = await install(["--minimal"], kernel);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE }));
});

Deno.test("install --minimal goes with neither --facts nor --core-dir: usage error", async () => {
  for (
    const [extra, message] of [
      ["--facts", "Error: --minimal goes without --facts (--facts passes the crash facts)"],
      [
        "--core-dir=/var/crash/x",
        "Error: --minimal goes without --core-dir (--core-dir passes the crash facts)",
      ],
    ]
  ) {
    const c = capture();
    assert.equal(await runCli(["install", "--minimal", extra], c.ctx), 2);
    assert.equal(c.err[0], message);
  }
});

Deno.test("install falls back to the bare line, warning, when the facts do not fit in 127 bytes", async () => {
  await using dir = await tempDir("ltt-facts-");
  // A path to lttng-trig long enough that only the bare line fits.
  const long = `${dir.path}/${"d".repeat(85 - dir.path.length - "/lttng-trig".length - 1)}`;
  await Deno.mkdir(long);
  const exe = `${long}/lttng-trig`;
  await Deno.symlink(EXE, exe);
  const bare = corePatternFor({ exe });
  // The tid goes first when the line is too long: the size is the line without it.
  const size = new TextEncoder().encode(corePatternFor({ exe, facts: true, tid: false }))
    .byteLength;
  assert.ok(size > 127 && bare.length <= 127);

  let kernel = new FakeKernel();
  const r = await install([], kernel, exe);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(kernel.text(CORE_PATTERN_PATH), bare);
  assert.deepEqual(r.err, [
    `Warning: the core_pattern with the crash facts would be ${size} bytes, over the kernel's limit of 127: installing it without them ('${bare}'): triggers with --signal will never fire, and --exec sees only the 15-character exec name: to keep the facts, name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
  ]);

  // Asked for explicitly, the facts are never dropped: refused, nothing changed.
  kernel = new FakeKernel();
  await assert.rejects(
    install(["--facts"], kernel, exe),
    new RegExp(`^CommandError: the core_pattern would be ${size} bytes, over the kernel's limit`),
  );
  assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
});

Deno.test("patternFacts() reads the notifier's --facts fields; the socket gives all", () => {
  assert.deepEqual(patternFacts(BARE), { signal: false, exePath: false });
  assert.deepEqual(patternFacts(`${FACTS}\n`), { signal: true, exePath: true });
  assert.deepEqual(
    patternFacts("|/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d %p %u %g %e %h"),
    { signal: true, exePath: false },
  );
  assert.deepEqual(
    patternFacts("|/usr/bin/lttng-trig notify --core-dir=/c --facts=%P:%s:%t:%c:%d:%E %p %u"),
    { signal: true, exePath: true },
  );
  // A --facts after the positionals is an exec name, not an option.
  assert.deepEqual(
    patternFacts("|/usr/bin/lttng-trig notify %p %u %g %e %h --facts=%P:%s:%t:%c:%d:%E"),
    { signal: false, exePath: false },
  );
  assert.deepEqual(patternFacts("@/var/run/lttng/coredump-lttng-trig"), {
    signal: true,
    exePath: true,
  });
  assert.equal(patternFacts("core"), undefined);
  assert.equal(patternFacts("|/usr/share/apport/apport -p%p -s%s"), undefined);
});

Deno.test("unservedFilters() says what a trigger will never see under the RFC's bare line", () => {
  assert.deepEqual(unservedFilters(BARE, { signals: [11] }), [
    "core_pattern '|/usr/bin/lttng-trig notify %p %u %g %e %h' does not pass the signal (%s): a --signal filter never matches, and the trigger will never fire: run 'lttng-trig install' to pass the crash facts",
  ]);
  assert.deepEqual(unservedFilters(BARE, { exec: "/usr/sbin/*" }), [
    "core_pattern '|/usr/bin/lttng-trig notify %p %u %g %e %h' does not pass the executable's path (%E): --exec='/usr/sbin/*' matches a path only when the root daemon reads it from /proc, never the exec name: run 'lttng-trig install' to pass the crash facts",
  ]);
  // An exec name glob needs no path; the facts line serves both; another handler: silent.
  assert.deepEqual(unservedFilters(BARE, { exec: "nginx*" }), []);
  assert.deepEqual(unservedFilters(FACTS, { signals: [11], exec: "/usr/*" }), []);
  assert.deepEqual(unservedFilters("core", { signals: [11] }), []);
});
