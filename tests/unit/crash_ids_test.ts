/**
 * Follow-up results attach to the right crash (issue 19, item 3), through a real daemon's
 * notification socket: the race of two crashes with the same namespaced pid, the first
 * one's big core still being written when the second one's result comes in.
 */
import assert from "node:assert/strict";
import { Daemon } from "../../lib/daemon/daemon.ts";
import { ControlClient } from "../../lib/client/client.ts";
import { NotifyStatus, readNotifyReply } from "../../lib/wire/notify.ts";
import { encodeOnAnyCoreDumpExt } from "../../lib/wire/notify_ext.ts";
import { encodeChainResult, encodeCoreResult } from "../../lib/wire/notify_results.ts";
import { encodeOnAnyCoreDump } from "../../lib/wire/notify.ts";
import { namingCrash } from "../../lib/wire/notify_ref.ts";
import type { CrashRecord } from "../../lib/protocol/records.ts";
import { waitFor } from "../fixtures/wait.ts";

const NO_SESSIONS = {
  snapshot: () => Promise.reject(new Error("no session in this test")),
  stop: () => Promise.reject(new Error("no session in this test")),
  listSessions: () => Promise.resolve([]),
};

/** A daemon of our own in a temporary directory, with no LTTng and no look at /proc. */
async function withDaemon(fn: (d: Daemon, log: string[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-ids-" });
  const log: string[] = [];
  try {
    await using daemon = await Daemon.start({
      runDir: `${dir}/run`,
      stateDir: `${dir}/state`,
      coredumpSocket: false,
      actions: NO_SESSIONS,
      procReader: "no /proc in this test",
      log: (line) => log.push(line),
    });
    await fn(daemon, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Send `frame` on a connection of its own; the reply when one is awaited. */
async function send(daemon: Daemon, frame: Uint8Array, awaitReply: boolean) {
  const conn = await Deno.connect({ transport: "unix", path: daemon.notifySocketPath });
  try {
    await conn.write(frame);
    if (!awaitReply) {
      // A follow-up gets no reply: the daemon closes once it has recorded it.
      assert.equal(await conn.read(new Uint8Array(1)), null);
      return undefined;
    }
    return await readNotifyReply(conn);
  } finally {
    conn.close();
  }
}

function crashOf(pid: number, uid: number, replyId = true): Uint8Array {
  return encodeOnAnyCoreDumpExt({
    pid,
    uid,
    gid: uid,
    execName: "crasher",
    hostname: "h",
    replyId,
  });
}

async function history(daemon: Daemon): Promise<CrashRecord[]> {
  return (await new ControlClient(daemon.controlSocketPath).history({})).crashes;
}

Deno.test("two crashes of pid 7 in two pid namespaces: each core's fate and chain result lands on its own crash", async () => {
  await withDaemon(async (daemon) => {
    // Alice's crash: pid 7 in her container; its 1 GiB core is still being written...
    const alice = await send(daemon, crashOf(7, 1000), true);
    // ...when Mallory's crash, pid 7 in a pid namespace of her own, is notified and done.
    const mallory = await send(daemon, crashOf(7, 2000), true);
    assert.ok(alice?.crashId! > 0 && mallory?.crashId! > 0, JSON.stringify([alice, mallory]));
    assert.notEqual(alice!.crashId, mallory!.crashId);
    const core = (text: string, bytes: number) =>
      encodeCoreResult({ pid: 7, kept: false, text, bytes });
    await send(daemon, namingCrash(core("mallory's small core", 4096), mallory!.crashId), false);
    const chain = encodeChainResult({
      pid: 7,
      outcome: "ok",
      code: 0,
      durationMs: 3,
      bytes: 4096,
      program: "/usr/bin/mallory-handler",
    });
    await send(daemon, namingCrash(chain, mallory!.crashId), false);
    // Then Alice's core is done: it is hers, not the newest crash of pid 7's.
    await send(daemon, namingCrash(core("alice's big core", 1 << 30), alice!.crashId), false);
    const byUid = await waitFor(async () => {
      const crashes = await history(daemon);
      return crashes.every((c) => c.core !== undefined) ? crashes : undefined;
    }, { what: "both cores' fates" });
    const of = (uid: number) => byUid.find((c) => c.uid === uid)!;
    assert.equal(of(1000).id, alice!.crashId);
    assert.deepEqual(of(1000).core, { kept: false, reason: "alice's big core", bytes: 1 << 30 });
    assert.equal(of(1000).chain, undefined);
    assert.equal(of(2000).id, mallory!.crashId);
    assert.deepEqual(of(2000).core, { kept: false, reason: "mallory's small core", bytes: 4096 });
    assert.equal(of(2000).chain?.program, "/usr/bin/mallory-handler");
  });
});

Deno.test("a follow-up without an id (an old sender) lands only where one crash of its pid awaits it", async () => {
  await withDaemon(async (daemon, log) => {
    // The RFC's command 1 gets the RFC's 12-byte reply, with no id.
    const rfc = await send(
      daemon,
      encodeOnAnyCoreDump({ pid: 9, uid: 1000, gid: 1000, execName: "a", hostname: "h" }),
      true,
    );
    assert.deepEqual(rfc, { status: NotifyStatus.OK, fired: 0, failed: 0 });
    // An extended notification without the flag: no id either.
    const old = await send(daemon, crashOf(9, 2000, false), true);
    assert.equal(old?.crashId, undefined);
    const unnamed = encodeCoreResult({ pid: 9, kept: false, text: "whose?", bytes: 1 });
    await send(daemon, unnamed, false);
    await waitFor(() => log.some((l) => /core's fate of pid 9 is not recorded/.test(l)), {
      what: "the daemon to refuse a core's fate it cannot place",
    });
    assert.deepEqual((await history(daemon)).map((c) => c.core), [undefined, undefined]);
    // One crash of pid 11 awaits its core: an old sender's result lands on it.
    await send(daemon, crashOf(11, 1000, false), true);
    await send(daemon, encodeCoreResult({ pid: 11, kept: false, text: "mine", bytes: 2 }), false);
    const eleven = await waitFor(async () =>
      (await history(daemon)).find((c) => c.pid === 11 && c.core !== undefined)
    );
    assert.equal(eleven.core?.reason, "mine");
    // And a second result for pid 11 goes nowhere: its crash has its core's fate already.
    await send(daemon, encodeCoreResult({ pid: 11, kept: false, text: "again", bytes: 3 }), false);
    await waitFor(() => log.some((l) => /core's fate of pid 11 is not recorded/.test(l)));
    assert.equal((await history(daemon)).find((c) => c.pid === 11)?.core?.reason, "mine");
  });
});
