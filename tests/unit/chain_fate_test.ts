/**
 * The chained handler's run (`install --chain`) from the notification socket to the
 * output: CHAIN_RESULT recorded by the endpoint, the store's `chain` column, and the
 * lines of `show`, `history`, `watch` and `status`.
 */
import assert from "node:assert/strict";
import { UNPRINTABLE } from "../../lib/core/unprintable.ts";
import { NotifyEndpoint } from "../../lib/daemon/notify_endpoint.ts";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import type { CrashRef } from "../../lib/store/crashes.ts";
import { namingCrash } from "../../lib/wire/notify_ref.ts";
import type { ChainFate, CrashRecord } from "../../lib/protocol/records.ts";
import { NotifyExtCommand } from "../../lib/wire/notify_ext.ts";
import { encodeChainResult } from "../../lib/wire/notify_results.ts";
import { encodeHeaderInto, HEADER_SIZE } from "../../lib/wire/header.ts";
import { chainHistoryText, chainRunText, chainShowText } from "../../lib/cli/chain_fate.ts";
import { showLines } from "../../lib/cli/show.ts";
import { historyLines } from "../../lib/cli/history.ts";
import { watchLine } from "../../lib/cli/watch.ts";
import { chainStatusLines } from "../../lib/cli/chain_status.ts";
import { sendToReplied } from "../../lib/notify/follow_up.ts";

const OK = {
  program: "/lib/systemd/systemd-coredump",
  outcome: "ok",
  code: 0,
  durationMs: 85,
  bytes: 40960,
} satisfies ChainFate;
const FAILED: ChainFate = {
  program: "/usr/bin/h",
  outcome: "failed",
  code: 1,
  durationMs: 12,
  bytes: 40960,
  reason: "/usr/bin/h exited with status 1",
};
const TIMEOUT = {
  program: "/usr/bin/h",
  outcome: "timeout",
  durationMs: 60_004,
  bytes: 4096,
  reason: "/usr/bin/h did not finish within 60000 ms: killed",
} satisfies ChainFate;

Deno.test("TriggerStore.setChainFate() records the run on the crash it names, by pid only when one crash awaits it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = TriggerStore.open(`${dir}/t.db`);
    const facts = { pid: 77, uid: 0, gid: 0, execName: "x", hostname: "h" };
    const first = store.recordCrash(facts, "notify").id;
    const second = store.recordCrash(facts, "notify").id;
    // By id: that crash, not the newest of its pid.
    assert.equal(store.setChainFate({ id: first }, FAILED), first);
    assert.equal(store.setChainFate({ id: 999 }, OK), undefined);
    assert.equal(store.setChainFate({ pid: 78 }, OK), undefined);
    // By pid (an old sender): the one crash of 77 without a chain result.
    assert.equal(store.setChainFate({ pid: 77 }, TIMEOUT), second);
    const crashes = store.listCrashes();
    assert.deepEqual(crashes.map((c) => c.chain), [FAILED, TIMEOUT]);
    // Two crashes of the pid await one: which is not known, and neither gets it.
    const third = store.recordCrash(facts, "notify").id;
    const fourth = store.recordCrash(facts, "notify").id;
    assert.equal(store.setChainFate({ pid: 77 }, OK), undefined);
    assert.equal(store.crashById(third)?.chain, undefined);
    assert.equal(store.crashById(fourth)?.chain, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NotifyEndpoint records a CHAIN_RESULT, and logs a bad one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-endpoint-" });
  const path = `${dir}/notify`;
  const recorded: [CrashRef, ChainFate][] = [];
  const log: string[] = [];
  const ep = new NotifyEndpoint(Deno.listen({ transport: "unix", path }), {
    uid: 0,
    crashes: { handle: () => Promise.reject(new Error("no crash in this test")) },
    recordCore: () => {},
    recordChain: (ref, fate) => recorded.push([ref, fate]),
    procReader: "no /proc in this test",
    stopping: () => false,
    replyTimeoutMs: 2000,
    frameTimeoutMs: 2000,
    maxConnections: 8,
    log: (line) => log.push(line),
  });
  const send = async (frame: Uint8Array) => {
    const conn = await Deno.connect({ transport: "unix", path });
    try {
      await conn.write(frame);
      // The daemon answers nothing and closes.
      assert.equal(await conn.read(new Uint8Array(8)), null);
    } finally {
      conn.close();
    }
  };
  try {
    await send(encodeChainResult({ pid: 4242, ...TIMEOUT, signal: 9 }));
    const bad = new Uint8Array(HEADER_SIZE + 31);
    encodeHeaderInto({ cmd: NotifyExtCommand.CHAIN_RESULT, msgSize: 31 }, bad, 0);
    await send(bad);
    await send(namingCrash(encodeChainResult({ pid: 4242, ...OK }), 17));
    assert.deepEqual(recorded, [
      [{ pid: 4242 }, { ...TIMEOUT, signal: "SIGKILL" }],
      [{ id: 17 }, OK],
    ]);
    assert.match(log[0], /^chained handler of pid 4242: timeout \(.*killed\), 60004 ms$/);
    assert.match(log[1], /^bad chain result: .*expected at least 32 bytes/);
  } finally {
    await ep.close(100);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the chained handler's run in show, history, watch and status", () => {
  assert.equal(chainShowText(OK), "/lib/systemd/systemd-coredump: exit 0 after 85 ms");
  assert.equal(chainRunText(TIMEOUT), "killed after 60 s (timeout)");
  assert.equal(
    chainRunText({ ...FAILED, code: undefined, signal: "SIGTERM" }),
    "killed by SIGTERM after 12 ms",
  );
  assert.equal(
    chainRunText({ program: "", outcome: "missing", durationMs: 0, bytes: 0, reason: "gone" }),
    "not run: gone",
  );
  assert.equal(chainHistoryText(OK), "chain: ok 85 ms");
  assert.equal(chainHistoryText(FAILED), "chain: failed exit 1 12 ms");
  assert.equal(chainHistoryText(TIMEOUT), "chain: timeout 60 s");
  const crash: CrashRecord = {
    id: 3,
    pid: 4242,
    uid: 0,
    gid: 0,
    execName: "crasher",
    hostname: "h",
    time: "2026-11-26T10:00:00.000Z",
    source: "notify",
    outcome: "no-trigger",
    results: [],
    chain: OK,
  };
  assert.ok(
    showLines(crash).includes(
      "  chained handler: /lib/systemd/systemd-coredump: exit 0 after 85 ms",
    ),
    showLines(crash).join("\n"),
  );
  assert.match(historyLines([crash])[1], / no-trigger \(chain: ok 85 ms\) /);
  assert.equal(
    watchLine({ type: "chain", id: 3, pid: 4242, time: "2026-11-26T10:00:00.100Z", chain: FAILED }),
    "2026-11-26T10:00:00.100Z chain   pid 4242 failed: /usr/bin/h: exit 1 after 12 ms",
  );
  const status = chainStatusLines({
    program: "/usr/bin/h",
    command: "/usr/bin/h %p",
    problem: null,
    lastRun: { time: "2026-11-26T10:00:00.000Z", pid: 4242, exec: "crasher", ...TIMEOUT },
  });
  assert.equal(
    status[1],
    'chained handler last run: 2026-11-26T10:00:00.000Z pid 4242 exec "crasher": killed after 60 s (timeout)',
  );
});

Deno.test("the chained handler's strings reach no terminal as controls", () => {
  const evil = "/tmp/\x1b]0;owned\x07\x9b31m";
  const fate: ChainFate = { ...FAILED, program: evil, signal: evil, code: undefined };
  for (const line of [chainShowText(fate), chainHistoryText(fate)]) {
    assert.doesNotMatch(line, UNPRINTABLE);
  }
});

Deno.test("sendToReplied() tells only the daemons that replied, each only if its owner listens", async () => {
  const written = new Map<string, number>();
  const peers: Record<string, number> = { "/r/root": 0, "/u/user": 1000, "/x/root": 1000 };
  const io = {
    connect(path: string) {
      return Promise.resolve({
        peer: { pid: 1, uid: peers[path] },
        read: () => Promise.resolve(null),
        write(p: Uint8Array) {
          written.set(path, (written.get(path) ?? 0) + p.byteLength);
          return Promise.resolve(p.byteLength);
        },
        close() {},
      });
    },
  };
  const frame = encodeChainResult({ pid: 9, ...OK });
  const failures = await sendToReplied(
    [
      { path: "/r/root", target: "root", outcome: "replied" },
      { path: "/u/user", target: "user", outcome: "replied" },
      { path: "/a/user", target: "user", outcome: "absent" },
    ],
    1000,
    frame,
    io,
  );
  assert.deepEqual([...written.entries()], [["/r/root", frame.byteLength], [
    "/u/user",
    frame.byteLength,
  ]]);
  assert.deepEqual(failures, []);
  written.clear();
  // A root daemon's socket served by another uid gets nothing, tried twice, and says so.
  assert.deepEqual(
    await sendToReplied([{ path: "/x/root", target: "root", outcome: "replied" }], 1000, frame, io),
    ["cannot tell /x/root: the peer is not the socket's owner"],
  );
  assert.equal(written.size, 0);
});
