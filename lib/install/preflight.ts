/**
 * What install checks before it changes anything: the executable the pattern names, the
 * directory the notifier keeps cores in, and, in socket mode, the daemon's coredump
 * socket. Each refusal is a {@linkcode CommandError} that says what to do.
 *
 * @module
 */
import { CommandError } from "../core/errors.ts";
import { octalMode, ownershipProblem } from "../core/ownership.ts";
import type { StatusReply } from "../protocol/control.ts";
import { kernelHasCoredumpSocket, patternPathProblem } from "./pattern.ts";
import {
  describeProblems,
  type PathFs,
  type PathProblem,
  type PathStat,
  PathTrust,
} from "../sys/path_trust.ts";

/** Where the pattern's executable is unusable, say why. */
export async function exeProblem(exe: string): Promise<string | undefined> {
  const p = patternPathProblem(exe);
  if (p !== undefined) return p;
  if (exe.split("/").pop() !== "lttng-trig") {
    return "it is not named lttng-trig (status and uninstall recognise the notifier by that name)";
  }
  try {
    const st = await Deno.stat(exe);
    if (!st.isFile) return "it is not a file";
    if (((st.mode ?? 0) & 0o111) === 0) return "it is not executable";
  } catch (err) {
    return `it cannot be found (${(err as Error).message})`;
  }
  return undefined;
}

/**
 * Refuse a --core-dir that is missing, not a directory, or that someone other than one of
 * `owners` (root) could write: the notifier writes cores there as root.
 */
export async function checkCoreDir(dir: string, owners: readonly number[]): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CommandError(
        `--core-dir ${dir} does not exist: create it first (mkdir -p -m 0700 ${dir})`,
      );
    }
    throw new CommandError(`cannot use --core-dir ${dir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory) throw new CommandError(`--core-dir ${dir} is not a directory`);
  if (ownershipProblem(st, owners) !== undefined) {
    throw new CommandError(
      `--core-dir ${dir} can be written by someone other than root (owner uid ${st.uid}, mode ${
        octalMode(st.mode ?? 0)
      }): the notifier writes cores there as root: use a directory only root can write (mkdir -m 0700 DIR)`,
    );
  }
}

/**
 * The daemon's coredump socket, once checked: the kernel has the mode, the daemon whose
 * status `daemonStatus` asks for listens there, and cannot dump core into its own socket.
 */
export async function coredumpSocketReady(
  daemonStatus: () => Promise<StatusReply>,
): Promise<string> {
  const release = Deno.osRelease();
  if (!kernelHasCoredumpSocket(release)) {
    throw new CommandError(
      `the kernel's coredump socket needs Linux 6.16 or later, and this is ${release}: install without --socket (the notifier works on every kernel)`,
    );
  }
  const status = await daemonStatus();
  if (!status.coredumpSocket) {
    throw new CommandError(
      "the daemon does not listen on a coredump socket: start it as root without --no-coredump-socket",
    );
  }
  if (!status.selfDump?.protected) {
    throw new CommandError(
      `the daemon could deadlock dumping its own core into its socket: ${
        status.selfDump?.reason ?? "unknown protection"
      }`,
    );
  }
  // The kernel refuses a socket path that goes through a symlink (/var/run -> /run).
  try {
    return await Deno.realPath(status.coredumpSocket);
  } catch (err) {
    throw new CommandError(`cannot resolve ${status.coredumpSocket}: ${(err as Error).message}`);
  }
}

/**
 * What Deno or npm would read in a directory above a project: a workspace root (deno.json,
 * deno.jsonc, package.json) with its import map, lock file and packages. The launcher
 * makes Deno look for none of them (deno.json is a workspace root, and bin/lttng-trig
 * sets DENO_NO_PACKAGE_JSON and --node-modules-dir=none); install still refuses a tree
 * they stand above unless they are root's alone (owned by root, writable by no one
 * else), so that no later change to either can hand root's code to another user.
 */
export const ABOVE_TREE_NAMES: readonly string[] = [
  "deno.json",
  "deno.jsonc",
  "package.json",
  "node_modules",
  "deno.lock",
  "import_map.json",
];

/** What the launcher runs from its checkout, besides lib/, bin/ and the Deno cache. */
const LAUNCHER_FILES = ["main.ts", "deno.json", "deno.lock"];
/** The trees the launcher runs code from, walked whole. */
const LAUNCHER_TREES = ["lib", "bin", ".tools/deno-dir", "node_modules"];

/** Options of {@linkcode codeTrustProblems}. */
export interface CodeTrustOptions {
  /** The filesystem. @default the real one */
  fs?: PathFs;
  /** The uids that may own the code. @default [0] */
  owners?: readonly number[];
  /** How many problems to find before stopping. @default 5 */
  limit?: number;
}

/**
 * Which files that the kernel would run as root, at every crash, through `exe`, someone
 * other than root could change: `exe` and each directory from `/` to it, its symlinks'
 * targets, and, when it is the launcher `ROOT/bin/lttng-trig`, the Deno binaries it may
 * pick (`ROOT/.tools/node_modules/@deno/linux-*-glibc/deno`), `main.ts`, `deno.json`,
 * `deno.lock`, and the trees `lib/`, `bin/`, `.tools/deno-dir` (the module cache) and
 * `node_modules/`, with every directory above them. Each must be owned by one of `owners`
 * and not writable by group or others (a sticky directory too), and no directory above the
 * tree may hold one of {@linkcode ABOVE_TREE_NAMES} that is not root's alone. Empty when
 * all can be trusted.
 *
 * @example
 * ```ts
 * import { codeTrustProblems } from "./preflight.ts";
 * const problems = await codeTrustProblems("/usr/bin/lttng-trig");
 * // e.g. [{ path: "/home/alice/lttng-trig", why: "owned by uid 1000" }]
 * ```
 */
export async function codeTrustProblems(
  exe: string,
  options: CodeTrustOptions = {},
): Promise<PathProblem[]> {
  // No sticky exception: in a sticky /tmp anyone can add a deno.json beside the tree.
  const trust = new PathTrust({ owners: options.owners ?? [0] }, options);
  const real = await trust.chain(exe);
  const root = real?.match(/^(.*)\/bin\/[^/]+$/)?.[1];
  if (root === undefined || (await trust.chain(`${root}/main.ts`)) === undefined) {
    return trust.problems; // not the launcher: a compiled binary, which is all it runs
  }
  await aboveTree(root, trust, options.fs ?? Deno, options.owners ?? [0]);
  for (const file of LAUNCHER_FILES) await trust.chain(`${root}/${file}`);
  const denos = await trust.chain(`${root}/.tools/node_modules/@deno`);
  if (denos !== undefined) {
    for await (const entry of (options.fs ?? Deno).readDir(denos)) {
      if (/^linux-.*-glibc$/.test(entry.name)) await trust.chain(`${denos}/${entry.name}/deno`);
    }
  }
  for (const tree of LAUNCHER_TREES) {
    if (trust.full) break;
    const dir = await trust.chain(`${root}/${tree}`);
    if (dir !== undefined) await trust.tree(dir, "follow");
  }
  return trust.problems;
}

/** Report each of {@linkcode ABOVE_TREE_NAMES} that stands in a directory above `root`. */
async function aboveTree(
  root: string,
  trust: PathTrust,
  fs: PathFs,
  owners: readonly number[],
): Promise<void> {
  const parts = root.split("/").filter((s) => s !== "");
  for (let i = 0; i < parts.length && !trust.full; i++) {
    const dir = `/${parts.slice(0, i).join("/")}`;
    for (const name of ABOVE_TREE_NAMES) {
      const path = `${dir === "/" ? "" : dir}/${name}`;
      let st: PathStat;
      try {
        st = await fs.lstat(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue;
        trust.report(path, `cannot be checked: ${(err as Error).message}`);
        continue;
      }
      // Root's own (npm's /usr/lib/node_modules beside /usr/lib/lttng-trig): only root
      // could have put it there or change it, and the launcher reads nothing above the
      // tree anyway. Anyone else's is what an attacker would plant.
      const problem = st.isSymlink
        ? "a symlink"
        : ((p) =>
          p === undefined
            ? undefined
            : p.kind === "owner"
            ? `owned by uid ${p.uid}`
            : `mode ${octalMode(p.mode)}`)(ownershipProblem(st, owners));
      if (problem !== undefined) {
        trust.report(path, `above the tree, where Deno or npm could read it (${problem})`);
      }
    }
  }
}

/**
 * Refuse to name `exe` in core_pattern when someone other than root could change the code
 * it runs: that someone would run code as root at the next crash. (`owners` is root and
 * this process's user: root when installing for real; a test run by a developer trusts
 * the developer's own checkout.)
 */
export async function checkCodeTrust(
  exe: string,
  owners: readonly number[] = [...new Set([0, Deno.uid() ?? 0])],
): Promise<void> {
  const problems = await codeTrustProblems(exe, { owners });
  if (problems.length === 0) return;
  const real = await Deno.realPath(exe).catch(() => exe);
  const dir = real.match(/^(.*)\/bin\/[^/]+$/)?.[1] ?? real;
  throw new CommandError(
    `cannot name ${exe} in core_pattern: the kernel would run it as root at every crash, and someone other than root can change what it runs: ${
      describeProblems(problems)
    }: make the code root's and writable by root alone (chown -R root: ${dir} && chmod -R go-w ${dir}, and the same, without -R, for each directory above it listed), remove what stands above the tree, or install a copy where every directory up to / is root's alone (not below /tmp: a sticky directory lets anyone add files beside it)`,
  );
}
