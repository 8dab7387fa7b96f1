/**
 * The crash report is made with the crashing user's rights and in their own share of the
 * queue (issue #19, item 5), with real crashes of a temporary user (useradd, userdel
 * whatever happens) through the real core_pattern, the cores kept by the notifier:
 *
 * - a FIFO put in place of the crash's LD_PRELOAD library once the crash is released
 *   blocks eu-stack, and only that user's reports: root's crash, meanwhile, gets its
 *   report;
 * - the user's executable swapped for a symlink to a 0700 root-only build of it
 *   (unstripped) gives no symbol of that build in the report, though eu-stack as root
 *   shows them (checked on the same core);
 * - a core that would not fit in the free space of the state directory (a 768 MiB tmpfs,
 *   mounted and unmounted by the test) is not decompressed: the report says why.
 */
import assert from "node:assert/strict";
import { LAUNCHER, ROOT } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { RootJournal } from "../fixtures/rel_journal.ts";
import { SessionDaemon } from "../fixtures/lttng.ts";
import { armBigCrasher, buildBigCrasher, buildCrasher, crash } from "../fixtures/crasher.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";
import { commandOutput, runCommand } from "../fixtures/process.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";

async function unavailable(): Promise<string | undefined> {
  const e2e = await e2eUnavailable();
  if (e2e !== undefined) return e2e;
  for (const tool of ["eu-stack", "gcc", "strip", "zstd", "prlimit", "mkfifo", "mount"]) {
    const r = await runCommand("sh", ["-c", 'command -v "$1"', "sh", tool]);
    if (r.code !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = await unavailable();
const SECRET = "crash_with_a_big_core"; // a static function: only the unstripped build names it
const MIB = 512;

type Entry = HistoryEntry & { report?: { state: string; reason?: string } };

async function entryOf(pid: number): Promise<Entry | undefined> {
  return (await history()).find((h) => h.pid === pid) as Entry | undefined;
}

/** The crash of `pid` once its report is in the state `state` says (bounded). */
function reported(pid: number, state: (s: string) => boolean, timeoutMs = 40_000) {
  return waitFor(async () => {
    const c = await entryOf(pid);
    return c?.report !== undefined && state(c.report.state) ? c : undefined;
  }, { timeoutMs, what: `the report of pid ${pid}` });
}

/** `show --json PID`: the whole report. */
async function fullReport(pid: number): Promise<string> {
  const r = await runLauncher(["show", "--json", String(pid)]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.stringify(JSON.parse(r.stdout).report);
}

Deno.test({
  name: "end to end: a user's report runs as the user, in their share, within the free space",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-repatk-" });
    await Deno.chmod(work, 0o755);
    const state = `${work}/state`;
    const cores = `/tmp/ltk${Deno.pid}`;
    let link: string | undefined;
    let mounted = false;
    let daemonLog = () => "";
    try {
      await Deno.mkdir(state, { mode: 0o700 });
      await commandOutput("mount", ["-t", "tmpfs", "-o", "size=768m,mode=0700", "tmpfs", state]);
      mounted = true;
      await using user = await TempUser.create(work);
      // The root-only build, and the user's stripped copy of it (the same build id).
      const secretDir = `${work}/secret`;
      await Deno.mkdir(secretDir, { mode: 0o700 });
      const secret = `${secretDir}/app`;
      await commandOutput("gcc", ["-O0", "-o", secret, `${ROOT}/tests/fixtures/big_crasher.c`]);
      await Deno.chmod(secret, 0o700);
      const app = `${user.home}/app`;
      await commandOutput("strip", ["-o", app, secret]);
      const lib = `${user.home}/libpad.so`;
      await Deno.copyFile("/usr/lib/x86_64-linux-gnu/libz.so.1", lib);
      for (const f of [app, lib]) {
        await Deno.chmod(f, 0o755);
        await Deno.chown(f, user.uid, user.gid);
      }
      // What the user swaps in once a crash is released, made beforehand.
      assert.equal((await user.runAs("mkfifo", [`${user.home}/fifo`])).code, 0);
      assert.equal((await user.runAs("ln", ["-s", secret, `${user.home}/app.link`])).code, 0);
      const swap = async (from: string, to: string) => {
        const r = await user.runAs("mv", ["-f", "-T", `${user.home}/${from}`, to]);
        assert.equal(r.code, 0, r.stderr);
      };

      await using root = await RootDaemon.start(state);
      daemonLog = () => root.daemon.log;
      let launcher = LAUNCHER;
      if (corePatternFor({ exe: LAUNCHER, coreDir: cores }).length > 127) {
        link = `/tmp/ltj${Deno.pid}`;
        await Deno.remove(link).catch(() => {});
        await Deno.symlink(LAUNCHER, link);
        launcher = link;
      }
      await using _pattern = await CorePatternGuard.set(
        corePatternFor({ exe: launcher, coreDir: cores }),
      );
      // The crashed process is reaped only once its helper is done (the core kept).
      await Deno.writeTextFile("/proc/sys/kernel/core_pipe_limit", "16");
      await using journal = await RootJournal.open();
      const who = { uid: user.uid, gid: user.gid };

      // 1. The FIFO: the library is swapped for it as soon as the crash is released.
      const fifoCrash = await armBigCrasher(app, MIB, { ...who, env: [`LD_PRELOAD=${lib}`] });
      journal.own(fifoCrash.pid);
      await fifoCrash.go();
      assert.equal((await fifoCrash.status).signal, "SIGSEGV");
      await swap("fifo", lib);

      // 2. The symlink: its report waits behind the FIFO's, in the user's own turn.
      const linkCrash = await armBigCrasher(app, MIB, who);
      journal.own(linkCrash.pid);
      await linkCrash.go();
      assert.equal((await linkCrash.status).signal, "SIGSEGV");
      await swap("app.link", app);

      // Root's crash is reported while the user's first report is still blocked.
      const mine = await crash({ coreLimit: "unlimited" });
      journal.own(mine.pid);
      const ours = await reported(mine.pid, (s) => s !== "pending", 30_000);
      assert.equal(ours.report?.state, "ready", JSON.stringify(ours.report));
      assert.equal(
        (await entryOf(fifoCrash.pid))?.report?.state,
        "pending",
        "the user's FIFO blocks the user's report only",
      );
      const blocked = await reported(fifoCrash.pid, (s) => s !== "pending");
      assert.equal(blocked.report?.state, "failed", JSON.stringify(blocked.report));
      assert.match(blocked.report?.reason ?? "", /eu-stack did not finish within 15000 ms/);

      const linked = await reported(linkCrash.pid, (s) => s !== "pending");
      assert.ok(linked.core?.kept, JSON.stringify(linked.core));
      const report = await fullReport(linkCrash.pid);
      assert.ok(!report.includes(SECRET), `the root-only build's symbols leaked: ${report}`);
      // The control: as root, eu-stack reads the root-only build through the link.
      const asRoot = `${work}/core.root`;
      await commandOutput("zstd", ["-d", "-q", "-o", asRoot, linked.core!.path!]);
      const rootStack = await runCommand("eu-stack", [`--core=${asRoot}`, `--executable=${app}`]);
      assert.match(rootStack.stdout, new RegExp(SECRET), "eu-stack as root would have shown it");
      await Deno.remove(asRoot);

      // 3. A core that would not fit in the state directory's free space.
      // From the shared build: the user's own path is a link to the root-only build now.
      const huge = await armBigCrasher(await buildBigCrasher(), 1024, { ...who, touch: true });
      journal.own(huge.pid);
      await huge.go();
      assert.equal((await huge.status).signal, "SIGSEGV");
      const refused = await reported(huge.pid, (s) => s !== "pending");
      assert.ok((refused.core?.bytes ?? 0) > 1024 ** 3, JSON.stringify(refused.core));
      assert.equal(refused.report?.state, "failed");
      assert.match(
        refused.report?.reason ?? "",
        new RegExp(
          `^not enough free space to decompress the core: it needs \\d+ bytes, ${state} has \\d+ free and keeps \\d+ free$`,
        ),
      );
      const left = [...Deno.readDirSync(state)].filter((e) => e.name.startsWith("report-"));
      assert.deepEqual(left, [], "nothing was decompressed");
    } catch (err) {
      console.error(`history: ${JSON.stringify(await history().catch(() => []))}`);
      console.error(`daemon log:\n${daemonLog().slice(-6000)}`);
      throw err;
    } finally {
      if (mounted) await runCommand("umount", [state]);
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      if (link !== undefined) await Deno.remove(link).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
});
