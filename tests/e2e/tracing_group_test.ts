/**
 * Issue #19, item 8: what a member of group `tracing` may do through root's control
 * socket (0660 root:tracing). A root daemon on the test's own run directory, a temporary
 * user made a member of a real `tracing` group (the system's, or one the test creates
 * and removes when there is none), and a second temporary user who is not a member:
 *
 * - the member reads: `list` (table and JSON), `history`, `show`, `status --json`;
 * - the member cannot `set` a trigger (with a `--path` where root's LTTng would write)
 *   nor `remove` root's: refused with the reason, and root's triggers are unchanged
 *   (the daemon reads each request's `SO_PEERCRED`);
 * - root can do both through the same socket;
 * - the user who is not a member cannot connect at all.
 */
import assert from "node:assert/strict";
import { BUILD_DIR } from "../fixtures/paths.ts";
import { requirement } from "../fixtures/require.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { runCommand } from "../fixtures/process.ts";
import { startDaemon } from "../fixtures/daemon.ts";
import { cli } from "../cli/_helpers.ts";
import type { RunResult } from "../fixtures/launcher.ts";

const skip = Deno.uid() === 0 ? undefined : "groupadd, useradd and a root daemon need root";

/** The gid of `tracing` in /etc/group, if it exists. */
async function tracingGid(): Promise<number | undefined> {
  const text = await Deno.readTextFile("/etc/group");
  const line = text.split("\n").map((l) => l.split(":")).find((f) => f[0] === "tracing");
  return line === undefined ? undefined : Number(line[2]);
}

/** Group `tracing`: the system's, or one created for the test and removed on dispose. */
async function tracingGroup(): Promise<{ gid: number } & AsyncDisposable> {
  const existing = await tracingGid();
  if (existing !== undefined) return { gid: existing, async [Symbol.asyncDispose]() {} };
  const r = await runCommand("groupadd", ["--system", "tracing"]);
  if (r.code !== 0) throw new Error(`groupadd tracing failed: ${r.stderr}`);
  const gid = await tracingGid();
  if (gid === undefined) throw new Error("tracing is not in /etc/group after groupadd");
  return {
    gid,
    async [Symbol.asyncDispose]() {
      const d = await runCommand("groupdel", ["tracing"]);
      if (d.code !== 0) throw new Error(`groupdel tracing failed: ${d.stderr}`);
    },
  };
}

function shown(r: RunResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

Deno.test({
  name: "a member of tracing reads root's daemon but cannot set or remove its triggers; root can",
  ignore: requirement(skip),
  async fn() {
    await Deno.mkdir(BUILD_DIR, { recursive: true });
    const base = await Deno.makeTempDir({ dir: BUILD_DIR, prefix: "tracing-" });
    await Deno.chmod(base, 0o755);
    try {
      await using group = await tracingGroup();
      await using member = await TempUser.create(base);
      await using outsider = await TempUser.create(base);
      const add = await runCommand("gpasswd", ["-a", member.name, "tracing"]);
      assert.equal(add.code, 0, add.stderr);
      try {
        const run = `${base}/run`;
        const state = `${base}/state`;
        await Deno.mkdir(run, { mode: 0o755 });
        await Deno.chmod(run, 0o755);
        await Deno.mkdir(state, { mode: 0o700 });
        await using d = await startDaemon({ runDir: run, stateDir: state });
        const control = await Deno.lstat(`${run}/client-lttng-trig`);
        assert.equal(control.mode! & 0o777, 0o660);
        assert.equal(control.gid, group.gid);

        const asRoot = (...args: string[]) => cli([args[0], `--run-dir=${run}`, ...args.slice(1)]);
        const asMember = (...args: string[]) =>
          member.trig(args[0], `--run-dir=${run}`, ...args.slice(1));
        const id = (await runCommand("id", ["-nG", member.name])).stdout;
        assert.match(id, /\btracing\b/, id);

        const set = await asRoot(
          "set",
          "-n",
          "root-trig",
          "-s",
          "trig-root-s",
          "OnAnyCoreDump",
          "stop",
        );
        assert.equal(set.code, 0, shown(set));
        const notify = await cli([
          "notify",
          `--run-dir=${run}`,
          `--state-dir=${state}`,
          "7419",
          "0",
          "0",
          "tracing-test",
          "host",
        ]);
        assert.equal(notify.code, 0, shown(notify));

        // A member reads.
        const list = await asMember("list");
        assert.equal(list.code, 0, shown(list));
        assert.match(list.stdout, /^root-trig +trig-root-s +OnAnyCoreDump +stop /m, shown(list));
        const json = await asMember("list", "--json");
        assert.equal(json.code, 0, shown(json));
        assert.deepEqual(
          JSON.parse(json.stdout).triggers.map((t: { name: string }) => t.name),
          ["root-trig"],
        );
        const history = await asMember("history", "--json");
        assert.equal(history.code, 0, shown(history));
        const crashes = JSON.parse(history.stdout).crashes as { pid: number }[];
        assert.deepEqual(crashes.map((c) => c.pid), [7419]);
        const showed = await asMember("show", "7419");
        assert.equal(showed.code, 0, shown(showed));
        assert.match(showed.stdout, /tracing-test/, shown(showed));
        const status = await asMember("status", `--state-dir=${state}`, "--json");
        assert.equal(JSON.parse(status.stdout).daemon.pid, d.pid, shown(status));

        // A member changes nothing: not with a path where root's LTTng would write, nor by
        // removing root's trigger.
        const denied =
          /^Error: only root can change this daemon's triggers, and this is uid \d+: members of group tracing may read/m;
        const theirs = await asMember(
          "set",
          "-n",
          "theirs",
          "-s",
          "trig-root-s",
          "--path=/etc/cron.d",
          "OnAnyCoreDump",
          "snapshot",
        );
        assert.equal(theirs.code, 1, shown(theirs));
        assert.match(theirs.stderr, denied, shown(theirs));
        assert.ok(theirs.stderr.includes(`uid ${member.uid}:`), shown(theirs));
        const remove = await asMember("remove", "root-trig");
        assert.equal(remove.code, 1, shown(remove));
        assert.match(remove.stderr, denied, shown(remove));
        const after = JSON.parse((await asRoot("list", "--json")).stdout).triggers;
        assert.deepEqual(after.map((t: { name: string }) => t.name), ["root-trig"]);
        assert.match(d.log, new RegExp(`refused command 1 from pid \\d+ uid ${member.uid}`));

        // Someone who is not in the group cannot even connect.
        const other = await outsider.trig("list", `--run-dir=${run}`);
        assert.equal(other.code, 1, shown(other));
        assert.match(other.stderr, /permission denied/i, shown(other));

        // Root, through the same socket, can.
        const gone = await asRoot("remove", "root-trig");
        assert.equal(gone.code, 0, shown(gone));
        assert.equal(gone.stdout, "Removed trigger `root-trig`.\n");
        assert.deepEqual(JSON.parse((await asRoot("list", "--json")).stdout).triggers, []);
      } finally {
        await runCommand("gpasswd", ["-d", member.name, "tracing"]);
      }
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
