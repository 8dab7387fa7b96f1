/**
 * `codeTrustProblems()`: what install checks of the code the kernel would run as root, on
 * an injected filesystem.
 */
import assert from "node:assert/strict";
import { codeTrustProblems } from "../../lib/install/preflight.ts";
import type { PathFs, PathStat } from "../../lib/sys/path_trust.ts";

type Node = { uid?: number; gid?: number; mode?: number; link?: string; dir?: boolean };

/** A filesystem from a table of paths; directories are listed by their children. */
function fakeFs(nodes: Record<string, Node>): PathFs {
  const all: Record<string, Node> = { "/": { dir: true }, ...nodes };
  return {
    lstat(path) {
      const n = all[path];
      if (n === undefined) return Promise.reject(new Deno.errors.NotFound(path));
      const isDirectory = n.dir === true;
      const st: PathStat = {
        uid: n.uid ?? 0,
        gid: n.gid ?? 0,
        mode: n.mode ?? (isDirectory ? 0o40755 : 0o100644),
        isSymlink: n.link !== undefined,
        isDirectory,
      };
      return Promise.resolve(st);
    },
    readLink: (path) => Promise.resolve(all[path].link!),
    async *readDir(path) {
      for (const p of Object.keys(all)) {
        if (p !== path && p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/")) {
          yield { name: p.slice(path.length + 1) };
        }
      }
    },
  };
}

/** A checkout at `root` as setup.sh leaves it, all root's. */
function checkout(root: string, over: Record<string, Node> = {}): Record<string, Node> {
  const parts = root.split("/").filter(Boolean);
  const nodes: Record<string, Node> = {};
  for (let i = 1; i <= parts.length; i++) nodes[`/${parts.slice(0, i).join("/")}`] = { dir: true };
  for (const d of ["bin", "lib", "lib/cli", ".tools", ".tools/deno-dir", ".tools/node_modules"]) {
    nodes[`${root}/${d}`] = { dir: true };
  }
  nodes[`${root}/.tools/node_modules/@deno`] = { dir: true };
  nodes[`${root}/.tools/node_modules/@deno/linux-x64-glibc`] = { dir: true };
  nodes[`${root}/.tools/node_modules/@deno/linux-x64-glibc/deno`] = { mode: 0o100755 };
  nodes[`${root}/bin/lttng-trig`] = { mode: 0o100755 };
  for (const f of ["main.ts", "deno.json", "deno.lock", "lib/cli/main.ts"]) {
    nodes[`${root}/${f}`] = {};
  }
  nodes[`${root}/.tools/deno-dir/gen.js`] = {};
  return { ...nodes, ...over };
}

Deno.test("codeTrustProblems() trusts a checkout that root alone can change", async () => {
  const fs = fakeFs(checkout("/opt/lttng-trig"));
  assert.deepEqual(await codeTrustProblems("/opt/lttng-trig/bin/lttng-trig", { fs }), []);
});

Deno.test("codeTrustProblems() names a parent directory a user owns", async () => {
  const fs = fakeFs(
    checkout("/home/alice/lttng-trig", { "/home/alice": { dir: true, uid: 1000 } }),
  );
  assert.deepEqual(await codeTrustProblems("/home/alice/lttng-trig/bin/lttng-trig", { fs }), [
    { path: "/home/alice", why: "owned by uid 1000" },
  ]);
});

Deno.test("codeTrustProblems() names a group-writable file in lib/ and the Deno cache", async () => {
  const fs = fakeFs(checkout("/opt/t", {
    "/opt/t/lib/cli/main.ts": { mode: 0o100664 },
    "/opt/t/.tools/deno-dir/gen.js": { mode: 0o100646 },
  }));
  assert.deepEqual(await codeTrustProblems("/opt/t/bin/lttng-trig", { fs }), [
    { path: "/opt/t/lib/cli/main.ts", why: "mode 664, writable by group" },
    { path: "/opt/t/.tools/deno-dir/gen.js", why: "mode 646, writable by others" },
  ]);
});

Deno.test("codeTrustProblems() follows a root-owned symlink to a target a user owns", async () => {
  const fs = fakeFs({
    ...checkout("/home/bob/src/lttng-trig", {
      "/home/bob/src": { dir: true, uid: 1001 },
      "/home/bob/src/lttng-trig": { dir: true, uid: 1001 },
      "/home/bob/src/lttng-trig/main.ts": { uid: 1001 },
    }),
    "/usr": { dir: true },
    "/usr/bin": { dir: true },
    "/usr/bin/lttng-trig": { link: "/home/bob/src/lttng-trig/bin/lttng-trig" },
  });
  const problems = await codeTrustProblems("/usr/bin/lttng-trig", { fs });
  assert.deepEqual(problems.slice(0, 3), [
    { path: "/home/bob/src", why: "owned by uid 1001" },
    { path: "/home/bob/src/lttng-trig", why: "owned by uid 1001" },
    { path: "/home/bob/src/lttng-trig/main.ts", why: "owned by uid 1001" },
  ]);
});

Deno.test("codeTrustProblems() refuses a sticky /tmp parent, a plain 0777 parent and a Deno others could add", async () => {
  // A sticky directory keeps others from renaming root's entry, not from adding a
  // deno.json or node_modules beside it, which Deno could read.
  const fs = fakeFs({
    ...checkout("/tmp/t", { "/tmp": { dir: true, mode: 0o41777 } }),
  });
  assert.deepEqual(await codeTrustProblems("/tmp/t/bin/lttng-trig", { fs }), [
    { path: "/tmp", why: "mode 1777, writable by others" },
  ]);
  const fs1 = fakeFs({
    ...checkout("/srv/t", { "/srv": { dir: true, mode: 0o40777 } }),
  });
  assert.deepEqual(await codeTrustProblems("/srv/t/bin/lttng-trig", { fs: fs1, limit: 1 }), [
    { path: "/srv", why: "mode 777, writable by others" },
  ]);
  const fs2 = fakeFs(
    checkout("/opt/t", { "/opt/t/.tools/node_modules/@deno": { dir: true, mode: 0o40777 } }),
  );
  assert.deepEqual(await codeTrustProblems("/opt/t/bin/lttng-trig", { fs: fs2 }), [
    { path: "/opt/t/.tools/node_modules/@deno", why: "mode 777, writable by others" },
  ]);
});

Deno.test("codeTrustProblems() refuses a Deno or npm file above the tree that is not root's alone", async () => {
  const above = "above the tree, where Deno or npm could read it";
  const fs = fakeFs(checkout("/opt/x/t", {
    "/opt/x/deno.json": { mode: 0o100664 },
    "/opt/package.json": { uid: 1000 },
    // npm's own global packages, root's alone, beside /usr/lib/lttng-trig: accepted.
    "/node_modules": { dir: true },
    "/opt/x/deno.jsonc": { link: "/etc/hostname" },
  }));
  assert.deepEqual(await codeTrustProblems("/opt/x/t/bin/lttng-trig", { fs }), [
    { path: "/opt/package.json", why: `${above} (owned by uid 1000)` },
    { path: "/opt/x/deno.json", why: `${above} (mode 664)` },
    { path: "/opt/x/deno.jsonc", why: `${above} (a symlink)` },
  ]);
  // The tree's own deno.json and deno.lock are what it runs with.
  const own = fakeFs(checkout("/opt/x/t", { "/opt/x/t/package.json": {} }));
  assert.deepEqual(await codeTrustProblems("/opt/x/t/bin/lttng-trig", { fs: own }), []);
});
