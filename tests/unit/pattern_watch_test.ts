/**
 * The root daemon's watch of core_pattern (issue #21, item 2), on a pretend kernel: a
 * package upgrade that writes the chained handler's own pattern back is undone, any
 * other change is reported, and uninstall is never undone.
 */
import assert from "node:assert/strict";
import { CORE_PATTERN_PATH, CORE_PIPE_LIMIT_PATH } from "../../lib/install/kernel_files.ts";
import {
  CorePatternWatch,
  judgePattern,
  watchStatusLines,
} from "../../lib/install/pattern_watch.ts";
import { type InstallState, writeInstallState } from "../../lib/install/state.ts";
import { chainStatusLines } from "../../lib/cli/chain_status.ts";
import { FakeKernel, UID } from "../fixtures/install.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const HANDLER = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d";
const OURS = "|/usr/bin/lttng-trig notify --chain=Pdst:%P:%d:%s:%t %p %u %g %e %h";
const STATE: InstallState = {
  version: 1,
  installedAt: "2026-12-04T00:00:00.000Z",
  corePattern: OURS,
  corePipeLimit: 64,
  chain: {
    program: "/lib/systemd/systemd-coredump",
    command: HANDLER.slice(1),
    specifiers: "Pugsthd",
    timeoutMs: 60_000,
  },
  previous: { corePattern: `${HANDLER}\n`, corePipeLimit: "16\n" },
};

async function watching(kernel: FakeKernel, state: InstallState | undefined) {
  const dir = await tempDir("ltw-");
  if (state !== undefined) await writeInstallState(dir.path, state, [UID]);
  const log: string[] = [];
  const watch = new CorePatternWatch({
    stateDir: dir.path,
    read: () => kernel.text(CORE_PATTERN_PATH),
    kernel,
    log: (l) => log.push(l),
    trustedOwners: [UID],
  });
  return { dir, log, watch };
}

Deno.test("judgePattern() tells lttng-trig's, the chained handler's own, and anything else", () => {
  assert.deepEqual(judgePattern(`${OURS}\n`, STATE), { kind: "ours" });
  assert.deepEqual(judgePattern(`${HANDLER}\n`, STATE), {
    kind: "reapply",
    handler: "/lib/systemd/systemd-coredump",
  });
  assert.deepEqual(judgePattern("|/usr/share/apport/apport %p", STATE), {
    kind: "lost",
    advice:
      "run 'lttng-trig install --chain' to run /usr/share/apport/apport after lttng-trig again",
  });
  assert.deepEqual(judgePattern("core", STATE), {
    kind: "lost",
    advice: "run 'lttng-trig install' to catch crashes again",
  });
  assert.deepEqual(judgePattern(HANDLER, undefined), { kind: "not-installed" });
  const { chain: _, ...unchained } = STATE;
  assert.equal(judgePattern(HANDLER, unchained).kind, "lost");
});

Deno.test("the watch re-applies the chain over the handler's own pattern, seen twice, and logs it", async () => {
  const kernel = new FakeKernel(OURS, "64");
  const { dir, log, watch } = await watching(kernel, STATE);
  await using _dir = dir;
  await watch.check();
  await watch.check();
  assert.deepEqual(log, []);
  // What systemd-coredump's postinst writes.
  kernel.files.set(CORE_PATTERN_PATH, new TextEncoder().encode(HANDLER));
  kernel.files.set(CORE_PIPE_LIMIT_PATH, new TextEncoder().encode("16"));
  await watch.check();
  assert.equal(kernel.text(CORE_PATTERN_PATH), HANDLER, "acted on a single read");
  await watch.check();
  assert.equal(kernel.text(CORE_PATTERN_PATH), OURS);
  assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "64");
  assert.deepEqual(log, [
    `core_pattern was set back to /lib/systemd/systemd-coredump's own ('${HANDLER}'), as a package upgrade does: re-applied lttng-trig's chain ('${OURS}') and core_pipe_limit 16 -> 64; /lib/systemd/systemd-coredump still runs after lttng-trig, and uninstall still restores '${HANDLER}'`,
  ]);
  assert.equal(watch.facts().reapplied?.handler, "/lib/systemd/systemd-coredump");
  assert.equal(watch.facts().lost, undefined);
  // Its own write is no change.
  await watch.check();
  await watch.check();
  assert.equal(log.length, 1);
});

Deno.test("the watch reports any other change once, in the log and for status, and never undoes it", async () => {
  const kernel = new FakeKernel(OURS, "64");
  const { dir, log, watch } = await watching(kernel, STATE);
  await using _dir = dir;
  await watch.check();
  kernel.files.set(CORE_PATTERN_PATH, new TextEncoder().encode("core"));
  for (let i = 0; i < 3; i++) await watch.check();
  assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
  assert.deepEqual(log, [
    "Warning: core_pattern changed to 'core': crashes no longer reach lttng-trig: run 'lttng-trig install' to catch crashes again",
  ]);
  const facts = watch.facts();
  assert.equal(facts.lost?.pattern, "core");
  assert.deepEqual(watchStatusLines(facts), [
    `core_pattern watch: ${facts.lost?.time}: the daemon saw core_pattern change to 'core': crashes no longer reach lttng-trig`,
  ]);
  kernel.files.set(CORE_PATTERN_PATH, new TextEncoder().encode(OURS));
  await watch.check();
  await watch.check();
  assert.equal(watch.facts().lost, undefined);
  assert.equal(log.at(-1), `core_pattern runs lttng-trig again ('${OURS}')`);
});

Deno.test("the watch never undoes uninstall: install.json gone, nothing is written", async () => {
  const kernel = new FakeKernel(OURS, "64");
  const { dir, log, watch } = await watching(kernel, STATE);
  await using _dir = dir;
  await watch.check();
  // uninstall: the previous pattern, then install.json removed, between two reads.
  kernel.files.set(CORE_PATTERN_PATH, new TextEncoder().encode(HANDLER));
  await watch.check();
  await Deno.remove(`${dir.path}/install.json`);
  await watch.check();
  await watch.check();
  assert.equal(kernel.text(CORE_PATTERN_PATH), HANDLER);
  assert.deepEqual(log, []);
});

Deno.test("status says the chained handler runs alone when core_pattern is no longer lttng-trig's", () => {
  const c = {
    program: "/lib/systemd/systemd-coredump",
    command: HANDLER.slice(1),
    problem: null,
    lastRun: null,
  };
  assert.deepEqual(chainStatusLines(c, false), [
    `chained handler: /lib/systemd/systemd-coredump ('${HANDLER}'), chained by 'lttng-trig install --chain', but core_pattern no longer runs lttng-trig: /lib/systemd/systemd-coredump runs alone, and lttng-trig sees no crash`,
  ]);
  assert.match(chainStatusLines(c, true)[0], /run after lttng-trig on every crash$/);
});
