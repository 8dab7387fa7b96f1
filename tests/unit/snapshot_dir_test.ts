/**
 * Which snapshot directory the daemon records and `show` reads, with real directories:
 * a directory planted in an output others can write is never picked, and is refused with
 * the reason; a snapshot in a root-owned 0755 output is. Needs root (chown).
 */
import assert from "node:assert/strict";
import { LttngControl, snapshotDirProblem } from "../../lib/lttng/control.ts";
import type { ProcessRunner } from "../../lib/lttng/process.ts";
import { requirement } from "../fixtures/require.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const NOBODY = 65534;
const skip = Deno.uid() === 0 ? undefined : "chown to another user needs root";

/** A runner where `lttng snapshot record` succeeds and writes nothing. */
const okRunner: ProcessRunner = {
  run: () => Promise.resolve({ code: 0, stdout: "", stderr: "", timedOut: false }),
};

/** A directory as LTTng makes a snapshot: 0770, with a subdirectory and a file. */
async function snapshotDir(path: string, uid = 0, mtime?: Date): Promise<string> {
  await Deno.mkdir(`${path}/ust/uid/0/64-bit`, { recursive: true });
  await Deno.writeTextFile(`${path}/ust/uid/0/64-bit/metadata`, "/* CTF 1.8 */");
  for (const p of [path, `${path}/ust`, `${path}/ust/uid`, `${path}/ust/uid/0`]) {
    await Deno.chmod(p, 0o770);
    await Deno.chown(p, uid, uid);
  }
  await Deno.chown(`${path}/ust/uid/0/64-bit`, uid, uid);
  await Deno.chown(`${path}/ust/uid/0/64-bit/metadata`, uid, uid);
  if (mtime !== undefined) await Deno.utime(path, mtime, mtime);
  return path;
}

async function output(work: string, name: string, mode: number): Promise<string> {
  const dir = `${work}/${name}`;
  await Deno.mkdir(dir);
  await Deno.chmod(dir, mode);
  return dir;
}

const FUTURE = new Date(Date.now() + 3_600_000);

Deno.test({
  name: "a snapshot directory planted in a world-writable output is not picked, nor read",
  ignore: requirement(skip),
  async fn() {
    await using work = await tempDir("ltt-snap-");
    const open = await output(work.path, "open", 0o777);
    const legit = await snapshotDir(`${open}/core-crasher-42-20260101-000000-0`);
    // Newer, and someone else's: what a user of a shared output plants.
    const planted = await snapshotDir(
      `${open}/core-crasher-42-20260101-000001-1`,
      NOBODY,
      FUTURE,
    );

    const refused = await snapshotDirProblem(planted);
    assert.equal(refused?.untrusted, true);
    assert.match(refused!.message, new RegExp(`${planted} \\(owned by uid ${NOBODY}\\)`));
    // Even LTTng's own directory there: anyone could have replaced it.
    const exposed = await snapshotDirProblem(legit);
    assert.match(exposed!.message, new RegExp(`${open} \\(mode 777, writable by others\\)`));

    const control = new LttngControl({ runner: okRunner });
    const { location } = await control.snapshot("s", "core-crasher-42", {
      type: "snapshot",
      path: open,
    });
    assert.equal(location, `${open}/core-crasher-42-*`, "nothing in an open output is picked");
  },
});

Deno.test({
  name: "a snapshot in a root-owned 0755 output is picked and trusted; a planted one is skipped",
  ignore: requirement(skip),
  async fn() {
    await using work = await tempDir("ltt-snap-");
    const out = await output(work.path, "out", 0o755);
    const legit = await snapshotDir(`${out}/core-crasher-43-20260101-000000-0`);
    assert.equal(await snapshotDirProblem(legit), undefined);
    // A newer directory someone else owns (made while the output was open) is skipped.
    await snapshotDir(`${out}/core-crasher-43-20260101-000001-1`, NOBODY, FUTURE);
    const control = new LttngControl({ runner: okRunner });
    const { location } = await control.snapshot("s", "core-crasher-43", {
      type: "snapshot",
      path: out,
    });
    assert.equal(location, legit);

    // A symlink inside a snapshot, or a file others can write, is refused.
    await Deno.symlink("/etc", `${legit}/ust/link`);
    assert.match((await snapshotDirProblem(legit))!.message, /ust\/link \(a symlink\)/);
    await Deno.remove(`${legit}/ust/link`);
    await Deno.chmod(`${legit}/ust/uid/0/64-bit/metadata`, 0o666);
    assert.match(
      (await snapshotDirProblem(legit))!.message,
      /metadata \(mode 666, writable by others\)/,
    );
    assert.deepEqual(await snapshotDirProblem(`${out}/missing`), {
      message: `${out}/missing does not exist`,
      untrusted: false,
    });
  },
});
