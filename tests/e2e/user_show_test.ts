/**
 * Issue #21, item 4: a non-root user runs their own lttng-sessiond and daemon, as
 * docs/INSTALLING.md describes; one of their programs crashes for real under the root
 * notifier. LTTng makes the snapshot directory 0770 with the user's own group: the daemon
 * must trust that group, record the snapshot's directory (not a glob) in the history,
 * and `show`, run by the user, must print the crashed program's events. The user is a
 * real temporary one (useradd), removed in every path; their session daemon is stopped
 * by pid.
 */
import assert from "node:assert/strict";
import { e2eUnavailable, serveCrashes } from "../fixtures/root_daemon.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";
import { stopChild } from "../fixtures/process.ts";

const skip = await e2eUnavailable();

Deno.test({
  name: "end to end: a non-root user's show prints the events of their crashed program",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-ushow-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _crashes = await serveCrashes(`${work}/root-state`);
      await using user = await TempUser.create(work);
      // useradd gave the user a group of its own: the one LTTng's 0770 directories have.
      const group = (await Deno.readTextFile("/etc/group")).split("\n")
        .find((l) => l.split(":")[2] === String(user.gid));
      assert.equal(group, `${user.name}:x:${user.gid}:`);

      // The user's own session daemon, as the user, in the user's HOME.
      const sessiond = new Deno.Command("setpriv", {
        args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "lttng-sessiond"],
        env: { HOME: user.home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        clearEnv: true,
        cwd: user.home,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        await waitFor(
          async () => (await user.runAs("lttng", ["--no-sessiond", "list"])).code === 0,
          { timeoutMs: 20_000, what: "the user's lttng-sessiond to answer" },
        );
        const lttng = async (...args: string[]) => {
          const r = await user.runAs("lttng", ["--no-sessiond", ...args]);
          assert.equal(r.code, 0, `lttng ${args.join(" ")}: ${r.stderr}`);
        };
        const name = "mine";
        await lttng("create", name, "--snapshot", `--output=${user.home}/out`);
        await lttng("enable-channel", "-u", "--buffers-pid", "--subbuf-size=262144", "ch0");
        await lttng("enable-event", "-u", "-a", "--channel=ch0");
        await lttng("add-context", "-u", "-t", "vpid", "-t", "vtid", "--channel=ch0");
        await lttng("start");

        const daemon = await user.startDaemon();
        try {
          const set = await user.trig("set", "-s", name, "-n", "snap", "OnAnyCoreDump", "snapshot");
          assert.equal(set.code, 0, set.stderr);

          const run = await crash({
            lastAlloc: 13579,
            asUid: user.uid,
            asGid: user.gid,
            home: user.home,
          });
          assert.equal(run.signal, "SIGSEGV");
          const entry = await waitFor(async () => {
            const h = await user.trig("history", "--json");
            const c = (JSON.parse(h.stdout || "{}").crashes ?? [])
              .find((c: { pid: number }) => c.pid === run.pid);
            return c?.outcome !== undefined && c.outcome !== "pending" ? c : undefined;
          }, { timeoutMs: 20_000, what: `the user's history entry of pid ${run.pid}` });
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          const snapshot: string = entry.results[0].snapshot;
          // The directory itself, not `…/core-crasher-PID-*`.
          assert.match(
            snapshot,
            new RegExp(`^${user.home}/out/core-crasher-${run.pid}-\\d{8}-\\d{6}-\\d+$`),
          );
          const st = await Deno.stat(snapshot);
          assert.equal(st.isDirectory, true);
          assert.equal(st.gid, user.gid);
          assert.equal(st.mode! & 0o777, 0o770);

          const shown = await user.trig("show", "--json", String(run.pid));
          assert.equal(shown.code, 0, shown.stderr);
          const report = JSON.parse(shown.stdout);
          assert.equal(report.eventsError, undefined, shown.stdout);
          assert.equal(report.eventsSnapshot, snapshot);
          assert.match(JSON.stringify(report.events), /lttng_ust_libc:malloc/);
          assert.match(JSON.stringify(report.events), /13579/);
        } finally {
          await daemon.stop();
        }
        await lttng("destroy", name).catch(() => {});
      } finally {
        await stopChild(sessiond);
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
