import assert from "node:assert/strict";
import {
  coreFileName,
  type FsSpace,
  keepCore,
  type KeepCoreOptions,
} from "../../lib/notify/core_keeper.ts";
import {
  type CoreLimits,
  type KeptCore,
  partialName,
  planVacuum,
  resolveCoreLimits,
  scanCoreDir,
} from "../../lib/notify/core_vacuum.ts";
import { requirement } from "../fixtures/require.ts";

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** A core of `bytes` random (incompressible) bytes, in 64 KiB chunks. */
function randomCore(bytes: number): ReadableStream<Uint8Array> {
  let left = bytes;
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) return controller.close();
      const chunk = crypto.getRandomValues(new Uint8Array(Math.min(left, 64 * KiB)));
      left -= chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

/** A filesystem that is large and empty: only the caps apply. */
const roomy = (): FsSpace => ({ size: 1024 * GiB, free: 512 * GiB });

async function tempCoreDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-cores-" });
  await Deno.chmod(dir, 0o700);
  return dir;
}

/** Kept cores and partial files of `dir`, by name. */
async function listing(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const e of Deno.readDir(dir)) {
    if (e.name === ".lock") continue;
    out.set(e.name, (await Deno.stat(`${dir}/${e.name}`)).size);
  }
  return out;
}

function total(files: Map<string, number>): number {
  return [...files.values()].reduce((a, b) => a + b, 0);
}

/** Write an old kept core of `uid`, `bytes` long, last modified `ageS` seconds ago. */
async function oldCore(dir: string, uid: number, pid: number, bytes: number, ageS: number) {
  const name = coreFileName({ execName: "old", uid, pid, time: 1000 + pid });
  await Deno.writeFile(`${dir}/${name}`, new Uint8Array(bytes), { mode: 0o600 });
  const when = new Date(Date.now() - ageS * 1000);
  await Deno.utime(`${dir}/${name}`, when, when);
  return name;
}

function keep(dir: string, uid: number, pid: number, bytes: number, o: Partial<KeepCoreOptions>) {
  return keepCore(randomCore(bytes), {
    dir,
    execName: "app",
    uid,
    pid,
    time: 2000 + pid,
    space: roomy,
    ...o,
  });
}

const LIMITS: CoreLimits = {
  maxUse: 100,
  keepFree: 0,
  uidShare: 0.5,
  maxCore: GiB,
  maxAgeMs: 0,
};
const core = (name: string, uid: number, bytes: number, mtimeMs: number): KeptCore => ({
  name,
  uid,
  bytes,
  mtimeMs,
  partial: false,
});

Deno.test("maxAge removes kept cores older than it, of any uid, before any other rule", () => {
  assert.equal(resolveCoreLimits({ maxAge: "30d" }, GiB).maxAgeMs, 30 * 86_400_000);
  assert.equal(resolveCoreLimits({ maxAge: 60 }, GiB).maxAgeMs, 60_000);
  assert.throws(() => resolveCoreLimits({ maxAge: "soon" }, GiB), /Cannot use maxAge "soon"/);
  const day = 86_400_000;
  const now = 100 * day;
  const cores = [
    core("core.a.1.1.1.zst", 1, 10, now - 40 * day),
    core("core.b.2.2.2.zst", 2, 10, now - 31 * day),
    core("core.c.1.3.3.zst", 1, 10, now - 1 * day),
  ];
  const plan = planVacuum(cores, { uid: 1, bytes: 1, free: 1000, now }, {
    ...LIMITS,
    maxAgeMs: 30 * day,
  });
  assert.deepEqual(plan.remove.map((c) => c.name), ["core.a.1.1.1.zst", "core.b.2.2.2.zst"]);
  assert.equal(plan.free, 1020);
});

Deno.test("resolveCoreLimits() gives systemd-coredump's defaults, capped at 4 GiB, and parses sizes", () => {
  assert.deepEqual(resolveCoreLimits({}, 10 * GiB), {
    maxUse: GiB,
    keepFree: Math.floor(1.5 * GiB),
    uidShare: 0.25,
    maxCore: 2 * GiB,
    maxAgeMs: 0,
  });
  assert.deepEqual(resolveCoreLimits({}, 1000 * GiB), {
    maxUse: 4 * GiB,
    keepFree: 4 * GiB,
    uidShare: 0.25,
    maxCore: 2 * GiB,
    maxAgeMs: 0,
  });
  assert.deepEqual(
    resolveCoreLimits(
      { maxUse: "512M", keepFree: "1%", uidShare: "50%", maxCore: 4096 },
      100 * GiB,
    ),
    { maxUse: 512 * MiB, keepFree: GiB, uidShare: 0.5, maxCore: 4096, maxAgeMs: 0 },
  );
  assert.throws(() => resolveCoreLimits({ maxUse: "lots" }, GiB), /Cannot use maxUse "lots"/);
  assert.throws(() => resolveCoreLimits({ uidShare: 2 }, GiB), /expected a share in \(0, 1\]/);
  assert.throws(
    () => resolveCoreLimits({ maxuse: 1 } as unknown as Record<string, number>, GiB),
    /Cannot use the limit "maxuse"/,
  );
});

Deno.test("planVacuum() removes the oldest cores first until the new one fits the total cap", () => {
  const cores = [core("c", 2, 30, 3), core("a", 1, 30, 1), core("b", 3, 30, 2)];
  const plan = planVacuum(cores, { uid: 4, bytes: 30, free: GiB }, { ...LIMITS, uidShare: 1 });
  assert.deepEqual(plan.remove.map((c) => c.name), ["a"]);
  assert.equal(plan.room, 40);
  assert.equal(plan.problem, undefined);
});

Deno.test("planVacuum() takes a uid's own oldest cores past its share, and the heaviest uid's past the cap", () => {
  // uid 1 floods: 5 cores of 10 bytes; uid 2 keeps 2 older ones. The share is 50 bytes.
  const cores = [
    core("b1", 2, 10, 1),
    core("b2", 2, 10, 2),
    ...[3, 4, 5, 6, 7].map((t) => core(`a${t}`, 1, 10, t)),
  ];
  const own = planVacuum(cores, { uid: 1, bytes: 10, free: GiB }, LIMITS);
  assert.deepEqual(own.remove.map((c) => c.name), ["a3"], "uid 1 pays for its own flood");
  // A third uid needs 40: the cap (100) is passed; uid 1 is the heaviest, uid 2's older
  // cores stay.
  const other = planVacuum(cores, { uid: 3, bytes: 60, free: GiB }, { ...LIMITS, uidShare: 0.6 });
  assert.deepEqual(other.remove.map((c) => c.name), ["a3", "a4", "a5"]);
  // Cores being written are counted and never removed.
  const busy = planVacuum([{ ...core("p", 1, 50, 0), partial: true }], {
    uid: 1,
    bytes: 10,
    free: GiB,
  }, LIMITS);
  assert.deepEqual(busy.remove, []);
  assert.match(busy.problem ?? "", /uid 1's cores reached their share/);
});

Deno.test("planVacuum() removes the uid's own cores, and no other's, while the free space is under keepFree", () => {
  const cores = [core("a", 1, 30, 1), core("b", 2, 30, 2), core("c", 2, 30, 3)];
  const limits = { ...LIMITS, maxUse: 0, keepFree: 50 };
  assert.deepEqual(
    planVacuum(cores, { uid: 2, bytes: 1, free: 25 }, limits).remove.map((c) => c.name),
    ["b"],
  );
  const short = planVacuum(cores, { uid: 2, bytes: 1, free: -20 }, limits);
  assert.deepEqual(short.remove.map((c) => c.name), ["b", "c"]);
  assert.match(short.problem ?? "", /only 40 bytes free in the core directory, under the 50/);
  assert.deepEqual(planVacuum(cores, { uid: 3, bytes: 1, free: 25 }, limits).remove, []);
});

Deno.test("keepCore() keeps cores under a total cap, removing the oldest first", async () => {
  const dir = await tempCoreDir();
  try {
    const a = await oldCore(dir, 1001, 1, 300 * KiB, 300);
    const b = await oldCore(dir, 1002, 2, 300 * KiB, 200);
    const c = await oldCore(dir, 1003, 3, 300 * KiB, 100);
    const limits = { maxUse: MiB, keepFree: 0, uidShare: 1 };
    const r = await keep(dir, 1004, 10, 300 * KiB, { limits, grantBytes: 64 * KiB });
    assert.equal(r.kept, true, r.reason);
    assert.equal(r.bytes, 300 * KiB);
    const files = await listing(dir);
    assert.deepEqual(
      [...files.keys()].sort(),
      [b, c, coreFileName({ ...r, execName: "app", uid: 1004, pid: 10, time: 2010 })].sort(),
    );
    assert.ok(!files.has(a));
    assert.ok(total(files) <= MiB, `${total(files)} bytes kept`);
    const mode = (await Deno.stat(r.path!)).mode! & 0o777;
    assert.equal(mode, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepCore() gives each uid a share: uid A's flood leaves uid B's cores", async () => {
  const dir = await tempCoreDir();
  try {
    const b1 = await oldCore(dir, 2000, 1, 200 * KiB, 1000);
    const b2 = await oldCore(dir, 2000, 2, 200 * KiB, 900);
    // maxUse 2 MiB, share 1/4: 512 KiB per uid.
    const limits = { maxUse: 2 * MiB, keepFree: 0 };
    const outcomes = [];
    for (let pid = 10; pid < 20; pid++) {
      outcomes.push(await keep(dir, 1000, pid, 200 * KiB, { limits, grantBytes: 32 * KiB }));
    }
    assert.ok(outcomes.every((o) => o.kept), JSON.stringify(outcomes));
    const files = await listing(dir);
    assert.ok(files.has(b1) && files.has(b2), "uid 2000's cores are kept");
    const aBytes = [...files].filter(([n]) => n.includes(".1000.")).reduce((s, [, v]) => s + v, 0);
    assert.ok(aBytes <= 512 * KiB, `uid 1000 uses ${aBytes} bytes`);
    // The newest of uid 1000 survive.
    assert.ok(files.has(coreFileName({ execName: "app", uid: 1000, pid: 19, time: 2019 })));
    // A core larger than the share is refused and leaves nothing.
    const big = await keep(dir, 1000, 30, 600 * KiB, { limits, grantBytes: 32 * KiB });
    assert.equal(big.kept, false);
    assert.match(big.reason ?? "", /uid 1000's cores reached their share of .* \(524288 bytes\)/);
    assert.ok([...(await listing(dir)).keys()].every((n) => !n.endsWith(".partial")));
    assert.ok((await listing(dir)).has(b1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepCore() counts a subordinate uid's cores in its owner's share", async () => {
  const dir = await tempCoreDir();
  try {
    // uid 1000 owns 100000-165535: its own core and its subordinates' share 512 KiB.
    const ownerOf = (uid: number) => uid >= 100000 && uid < 165536 ? 1000 : uid;
    const own = await oldCore(dir, 1000, 1, 200 * KiB, 1000);
    const other = await oldCore(dir, 2000, 2, 200 * KiB, 900);
    const limits = { maxUse: 2 * MiB, keepFree: 0 };
    for (let i = 0; i < 4; i++) {
      const r = await keep(dir, 100000 + i, 10 + i, 200 * KiB, {
        limits,
        grantBytes: 32 * KiB,
        ownerOf,
      });
      assert.equal(r.kept, true, r.reason);
    }
    const files = await listing(dir);
    assert.ok(!files.has(own), "the owner's oldest went for its subordinates' cores");
    assert.ok(files.has(other), "another uid's core stays");
    const mine = [...files].filter(([n]) => !n.includes(".2000.")).reduce((s, [, v]) => s + v, 0);
    assert.ok(mine <= 512 * KiB, `the owner and its subordinates use ${mine} bytes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepCore() concurrent keepers stay within the caps and leave no partial file", async () => {
  const dir = await tempCoreDir();
  try {
    const limits = { maxUse: 4 * MiB, keepFree: 0, uidShare: 1 };
    const outcomes = await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) => keep(dir, 1000 + (i % 3), 100 + i, 700 * KiB, { limits, grantBytes: 128 * KiB }),
      ),
    );
    const files = await listing(dir);
    // Each refused keeper says why; kept ones may since have been removed by later ones.
    for (const o of outcomes.filter((o) => !o.kept)) {
      assert.match(o.reason ?? "", /reached their total cap/);
    }
    // How many fit depends on how the twelve interleave (each counts the others' cores in
    // flight with their grants): at least one always does.
    const kept = outcomes.filter((o) => o.kept).length;
    assert.ok(kept >= 1, JSON.stringify(outcomes));
    assert.ok([...files.keys()].every((n) => n.startsWith("core.")), [...files.keys()].join());
    assert.ok(total(files) <= 4 * MiB, `${total(files)} bytes kept`);
    // Every file is a complete zstd stream of 700 KiB.
    for (const name of files.keys()) {
      const data = await Deno.readFile(`${dir}/${name}`);
      const { zstdDecompressSync } = await import("node:zlib");
      assert.equal(zstdDecompressSync(data).byteLength, 700 * KiB, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scanCoreDir() removes a partial file whose keeper died, and counts a live one with its grant", async () => {
  const dir = await tempCoreDir();
  try {
    const dead = partialName(coreFileName({ execName: "x", uid: 5, pid: 1, time: 1 }));
    await Deno.writeFile(`${dir}/${dead}`, new Uint8Array(10));
    const live = partialName(coreFileName({ execName: "x", uid: 6, pid: 2, time: 2 }));
    await Deno.writeFile(`${dir}/${live}`, new Uint8Array(10));
    using holder = await Deno.open(`${dir}/${live}`, { read: true });
    assert.ok(holder.tryLockSync(true));
    await Deno.writeFile(`${dir}/unrelated`, new Uint8Array(10));
    const cores = scanCoreDir(dir, 100);
    assert.deepEqual(cores.map((c) => [c.name, c.uid, c.bytes, c.partial]), [[live, 6, 110, true]]);
    assert.ok(!(await listing(dir)).has(dead));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepCore() never leaves a partial core: a stream that fails mid-way, and a too-large core", async () => {
  const dir = await tempCoreDir();
  try {
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 512 * KiB) return controller.error(new Error("connection reset"));
        sent += 64 * KiB;
        controller.enqueue(crypto.getRandomValues(new Uint8Array(64 * KiB)));
      },
    });
    const r = await keepCore(failing, { dir, execName: "x", uid: 1, pid: 1, space: roomy });
    assert.equal(r.kept, false);
    assert.match(r.reason ?? "", /connection reset/);
    const big = await keep(dir, 1, 2, 2 * MiB, { limits: { maxCore: MiB } });
    assert.match(big.reason ?? "", /the core is larger than 1048576 bytes \(the maximum kept\)/);
    assert.deepEqual([...(await listing(dir)).keys()], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepCore() reads DIR/.limits.json, and refuses to keep with a bad one", async () => {
  const dir = await tempCoreDir();
  try {
    await Deno.writeTextFile(`${dir}/.limits.json`, JSON.stringify({ maxCore: "100K" }), {
      mode: 0o600,
    });
    const r = await keep(dir, 1, 1, 200 * KiB, {});
    assert.match(r.reason ?? "", /larger than 102400 bytes/);
    await Deno.writeTextFile(`${dir}/.limits.json`, JSON.stringify({ maxUse: "-1" }));
    const bad = await keep(dir, 1, 2, 1, {});
    assert.equal(bad.kept, false);
    assert.match(bad.reason ?? "", /cannot read the limits of .*: Cannot use maxUse "-1"/);
    await Deno.chmod(`${dir}/.limits.json`, 0o666);
    const open = await keep(dir, 1, 3, 1, {});
    assert.match(open.reason ?? "", /is not a regular file that only we can write/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function canMount(): Promise<string | undefined> {
  if (Deno.uid() !== 0) {
    return "mounting a tmpfs needs root"; // a reason for requirement(), never a silent pass
  }
  try {
    await new Deno.Command("mount", { args: ["--version"], stdout: "null" }).output();
  } catch {
    return "mount is missing: apt-get install mount";
  }
  return undefined;
}

Deno.test({
  name:
    "keepCore() stops when the free space falls under keepFree mid-write, and removes the partial file",
  ignore: requirement(await canMount()),
  fn: async () => {
    const scratch = await tempCoreDir();
    const mnt = `${scratch}/mnt`;
    await Deno.mkdir(mnt, { mode: 0o700 });
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mnt],
      stderr: "piped",
    }).output();
    assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
    try {
      const dir = `${mnt}/cores`;
      await Deno.mkdir(dir, { mode: 0o700 });
      const own = await oldCore(dir, 1000, 1, MiB, 60);
      const other = await oldCore(dir, 7, 2, MiB, 120);
      // 16 MiB of random bytes into 8 MiB; keep 2 MiB free; no total cap.
      const r = await keepCore(randomCore(16 * MiB), {
        dir,
        execName: "big",
        uid: 1000,
        pid: 42,
        limits: { maxUse: 0, keepFree: "2M" },
      });
      assert.equal(r.kept, false);
      assert.match(
        r.reason ?? "",
        /^stopped after \d+ bytes of core \(\d+ written\): only \d+ bytes free in .*, under the 2097152 to keep free$/,
      );
      const files = await listing(dir);
      // The uid's own older core was removed to make room before the keeper gave up;
      // another uid's was not.
      assert.deepEqual([...files.keys()], [other], `left: ${[...files.keys()]}`);
      assert.ok(!files.has(own));
      const st = Deno.statSync(dir);
      assert.ok(st.isDirectory);
    } finally {
      const out = await new Deno.Command("umount", { args: [mnt], stderr: "piped" }).output();
      if (!out.success) await new Deno.Command("umount", { args: ["-l", mnt] }).output();
      await Deno.remove(scratch, { recursive: true });
    }
  },
});
