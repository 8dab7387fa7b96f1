/**
 * The fleet, end to end (issue #22): a traced two-thread program crashes for real through
 * the real core_pattern; the root daemon (bin/lttng-trig) snapshots its session, keeps
 * its core and makes its report, and journals the crash and the report to a real
 * systemd-journald (a namespace instance of the test's own: tests/fixtures/journald.ts),
 * read back with `journalctl -o json MESSAGE_ID=...`. The entries are then forwarded by
 * systemd-journal-upload to a systemd-journal-remote on 127.0.0.1 and read from the
 * remote journal file. Crash signatures: two crashes at one site share one, a crash at
 * another site gets another, and `history --by-signature` counts them. An entry too large
 * for a datagram goes as a memfd. With journald gone, crashes are still acted on and the
 * log says so once.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";
import { buildMtCrasher, runMtCrasher } from "../fixtures/mt_crasher.ts";
import {
  Journald,
  journaldUnavailable,
  journalJson,
  JournalRemote,
  journalUpload,
} from "../fixtures/journald.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { type JournalTransport, openJournalSocket } from "../../lib/journal/sender.ts";
import { encodeJournalEntry } from "../../lib/journal/encoder.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";

async function unavailable(): Promise<string | undefined> {
  const e2e = await e2eUnavailable();
  if (e2e !== undefined) return e2e;
  const journal = await journaldUnavailable();
  if (journal !== undefined) return journal;
  for (const tool of ["eu-stack", "gcc", "lttng", "babeltrace2", "prlimit", "journalctl"]) {
    const found = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$1"', "sh", tool],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!found.success) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = await unavailable();

// Written here, not imported: the ids users put in their queries (docs/FLEET.md).
const CRASH_ID = "f3aeeb645cda4de7b07fada57ba1a13b";
const REPORT_ID = "5de6083b1d4b450a8e1dc7e131bfcb01";

type Entry = HistoryEntry & { signature?: string; report?: { state: string } };
type JournalEntry = Record<string, unknown>;

/** The crash of `pid` once its report is no longer pending (bounded). */
function reported(pid: number): Promise<Entry> {
  return waitFor(async () => {
    const c = (await history()).find((h) => h.pid === pid) as Entry | undefined;
    return c?.report !== undefined && c.report.state !== "pending" ? c : undefined;
  }, { timeoutMs: 40_000, what: `the report of pid ${pid} in history` });
}

/** The one entry of `journald` that matches, once there (bounded). */
function oneEntry(journald: Journald, matches: string[]): Promise<JournalEntry> {
  return waitFor(async () => {
    const found = await journald.entries(matches);
    assert.ok(found.length <= 1, `one entry for ${matches.join(" ")}: ${found.length}`);
    return found[0];
  }, { timeoutMs: 30_000, what: `a journal entry ${matches.join(" ")}` });
}

Deno.test({
  name: "end to end: crashes in the journal, forwarded to a remote journal, by signature",
  ignore: requirement(skip),
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-fleet-" });
    await Deno.chmod(work, 0o755);
    const cores = `/tmp/ltf${Deno.pid}`;
    let link: string | undefined;
    try {
      const exe = await buildMtCrasher(work);
      await using _sessiond = await SessionDaemon.ensure();
      await using journald = await Journald.start();
      await using root = await RootDaemon.start(`${work}/state`, [
        `--journal-socket=${journald.socket}`,
      ]);
      await using session = await SnapshotSession.create({
        buffers: "uid",
        output: `${work}/snapshots`,
        contexts: ["vpid", "vtid"],
        events: "lttng_ust_libc:*",
      });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "-n",
        "fleet",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      let launcher = LAUNCHER;
      if (corePatternFor({ exe: LAUNCHER, coreDir: cores }).length > 127) {
        link = `/tmp/ltk${Deno.pid}`;
        await Deno.remove(link).catch(() => {});
        await Deno.symlink(LAUNCHER, link);
        launcher = link;
      }
      await using _pattern = await CorePatternGuard.set(
        corePatternFor({ exe: launcher, coreDir: cores }),
      );

      const first = await runMtCrasher(exe);
      assert.equal(first.signal, "SIGSEGV");
      const crash = await reported(first.pid);
      assert.equal(crash.report?.state, "ready");

      await t.step("the crash's entry in the journal, with every field", async () => {
        const e = await oneEntry(journald, [
          `MESSAGE_ID=${CRASH_ID}`,
          `LTTNG_TRIG_PID=${first.pid}`,
        ]);
        const snapshot = crash.results[0].snapshot ?? "";
        assert.ok(snapshot.startsWith(`${work}/snapshots/`), snapshot);
        assert.equal(
          e.MESSAGE,
          `Process ${first.pid} (mt_crasher) of user 0 dumped core (SIGSEGV): snapshot of session ${session.name} taken`,
        );
        assert.equal(e.PRIORITY, "5");
        assert.equal(e.SYSLOG_IDENTIFIER, "lttng-trig");
        assert.equal(e._TRANSPORT, "journal");
        assert.equal(e.LTTNG_TRIG_CRASH_ID, String(crash.id));
        assert.equal(e.LTTNG_TRIG_UID, "0");
        assert.equal(e.LTTNG_TRIG_GID, "0");
        assert.equal(e.LTTNG_TRIG_SIGNAL, "SIGSEGV");
        assert.equal(e.LTTNG_TRIG_EXE, exe);
        assert.equal(e.LTTNG_TRIG_COMM, "mt_crasher");
        assert.equal(e.LTTNG_TRIG_HOSTNAME, Deno.hostname());
        assert.equal(e.LTTNG_TRIG_OUTCOME, "ok");
        assert.equal(e.LTTNG_TRIG_TRIGGERS, "fleet:ok");
        assert.equal(e.LTTNG_TRIG_SNAPSHOT, snapshot);
        assert.match(String(e.LTTNG_TRIG_GLOBAL_PID), /^\d+$/);
        assert.match(String(e.LTTNG_TRIG_SIGNATURE), /^[0-9a-f]{32}$/);
      });

      await t.step("the report's entry: the crashing thread's top frames", async () => {
        const e = await oneEntry(journald, [
          `MESSAGE_ID=${REPORT_ID}`,
          `LTTNG_TRIG_CRASH_ID=${crash.id}`,
        ]);
        assert.equal(e.LTTNG_TRIG_PID, String(first.pid));
        assert.equal(e.LTTNG_TRIG_TID, String(first.tid));
        assert.equal(e.LTTNG_TRIG_REPORT, "ready");
        assert.equal(e.LTTNG_TRIG_CORE, crash.core?.path);
        assert.ok(String(crash.core?.path).startsWith(`${cores}/`), JSON.stringify(crash.core));
        assert.equal(e.LTTNG_TRIG_SIGNATURE, crash.signature);
        const frames = ([] as unknown[]).concat(e.LTTNG_TRIG_FRAME).map(String);
        assert.match(frames[0], /^#0 crash_in_worker \(mt_crasher\+0x[0-9a-f]+\)$/);
        assert.match(frames[1], /^#1 worker \(mt_crasher\+0x[0-9a-f]+\)$/);
        // A multi-line MESSAGE: sent in the binary-safe form, read back whole.
        assert.match(
          String(e.MESSAGE),
          new RegExp(
            `^Process ${first.pid} \\(mt_crasher\\) of user 0 crashed in crash_in_worker\\n\\nStack trace of thread ${first.tid}:\\n#0 crash_in_worker `,
          ),
        );
      });

      await t.step("signatures: one site shares one, another site gets another", async () => {
        // watch --json, for the signature its report events carry.
        const watch = new Deno.Command(LAUNCHER, {
          args: ["watch", "--json"],
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).spawn();
        let watched = "";
        const pump = (async () => {
          for await (const chunk of watch.stdout) watched += new TextDecoder().decode(chunk);
        })();
        try {
          await waitFor(() => root.daemon.log.includes("watch: a client follows crashes"), {
            what: "watch to connect",
          });
          const again = await runMtCrasher(exe);
          const elsewhere = await runMtCrasher(exe, 7777, { site: "elsewhere" });
          assert.equal(again.signal, "SIGSEGV");
          assert.equal(elsewhere.signal, "SIGSEGV");
          const a = crash.signature;
          const b = (await reported(again.pid)).signature;
          const c = (await reported(elsewhere.pid)).signature;
          assert.match(String(a), /^[0-9a-f]{32}$/);
          assert.equal(b, a, "the same site at other addresses (ASLR)");
          assert.match(String(c), /^[0-9a-f]{32}$/);
          assert.notEqual(c, a, "crash_elsewhere is another site");

          const by = await runLauncher(["history", "--by-signature"]);
          assert.equal(by.code, 0, by.stderr);
          const lines = by.stdout.trim().split("\n");
          assert.match(lines[0], /^COUNT +FIRST +LAST +EXAMPLE +EXEC +FUNCTION +SIGNATURE$/);
          const inWorker = lines.filter((l) => l.endsWith(` ${a}`));
          const inElsewhere = lines.filter((l) => l.endsWith(` ${c}`));
          assert.equal(inWorker.length, 1, by.stdout);
          assert.match(inWorker[0], /^2 +.* mt_crasher +crash_in_worker +[0-9a-f]{32}$/);
          assert.equal(inElsewhere.length, 1, by.stdout);
          assert.match(inElsewhere[0], /^1 +.* mt_crasher +crash_elsewhere +[0-9a-f]{32}$/);
          const json = JSON.parse(
            (await runLauncher(["history", "--by-signature", "--json"])).stdout,
          );
          const group = json.signatures.find((g: { signature: string }) => g.signature === a);
          assert.equal(group.count, 2);
          assert.equal(group.function, "crash_in_worker");
          const shown = await runLauncher(["show", String(elsewhere.pid)]);
          assert.match(shown.stdout, new RegExp(`^  signature: +${c}$`, "m"));
          const e = await oneEntry(journald, [
            `MESSAGE_ID=${REPORT_ID}`,
            `LTTNG_TRIG_PID=${elsewhere.pid}`,
          ]);
          assert.equal(e.LTTNG_TRIG_SIGNATURE, c);
          const reportEvent = (pid: number) =>
            watched.split("\n").slice(0, -1).map((l) => JSON.parse(l)).find((ev) =>
              ev.type === "report" && ev.pid === pid
            );
          await waitFor(() => reportEvent(elsewhere.pid), { what: `watch's report: ${watched}` });
          assert.equal(reportEvent(again.pid)?.signature, a);
          assert.equal(reportEvent(elsewhere.pid)?.signature, c);
        } finally {
          watch.kill("SIGTERM");
          await watch.status;
          await pump;
        }
      });

      await t.step(
        "systemd-journal-upload carries the entries to a systemd-journal-remote",
        async () => {
          await using remote = await JournalRemote.start(work);
          const up = await journalUpload(journald.files, remote.url);
          assert.equal(up.code, 0, up.stderr);
          const found = await waitFor(async () => {
            const es = await journalJson([
              `--file=${remote.file}`,
              `MESSAGE_ID=${CRASH_ID}`,
              `LTTNG_TRIG_PID=${first.pid}`,
            ]);
            return es.length > 0 ? es : undefined;
          }, { timeoutMs: 20_000, what: `the crash in ${remote.file}` });
          assert.equal(found.length, 1);
          assert.equal(found[0].LTTNG_TRIG_CRASH_ID, String(crash.id));
          assert.equal(found[0].LTTNG_TRIG_SNAPSHOT, crash.results[0].snapshot);
          assert.equal(found[0].LTTNG_TRIG_EXE, exe);
          const reports = await journalJson([`--file=${remote.file}`, `MESSAGE_ID=${REPORT_ID}`]);
          assert.equal(reports.length, 3, "the three reports");
        },
      );

      await t.step(
        "an entry larger than a datagram reaches journald as a sealed memfd",
        async () => {
          const socket = openJournalSocket(journald.socket);
          assert.equal(typeof socket, "object", String(socket));
          const transport = socket as JournalTransport;
          try {
            // 1 MiB: past any unix datagram (net.core.wmem_max), with odd bytes in it.
            const big = "x".repeat(1024 * 1024 - 3) + "\u0001\n.";
            const marker = crypto.randomUUID().replaceAll("-", "");
            const sent = transport.send(
              encodeJournalEntry([["MESSAGE", "big"], ["LTTNG_TRIG_TEST", marker], ["BIG", big]]),
            );
            assert.equal(sent, undefined);
            const e = await oneEntry(journald, [`LTTNG_TRIG_TEST=${marker}`]);
            // journalctl -o json gives a value with control bytes as an array of bytes.
            const value = Array.isArray(e.BIG)
              ? new TextDecoder().decode(new Uint8Array(e.BIG as number[]))
              : String(e.BIG);
            assert.equal(value.length, big.length);
            assert.ok(value === big, "the value, byte for byte");
          } finally {
            transport.close();
          }
        },
      );

      await t.step("no journald: crashes are acted on, and the log says so once", async () => {
        await journald[Symbol.asyncDispose]();
        const runs = [await runMtCrasher(exe), await runMtCrasher(exe)];
        for (const r of runs) assert.equal((await reported(r.pid)).outcome, "ok");
        const said = root.daemon.log.split("\n").filter((l) =>
          l.includes(`journal: no journald takes entries on ${journald.socket}`)
        );
        assert.equal(said.length, 1, root.daemon.log);
      });
    } finally {
      if (link !== undefined) await Deno.remove(link).catch(() => {});
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
