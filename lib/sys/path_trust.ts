/**
 * Whether root may trust what a path leads to: every directory from `/` to it, through
 * every symlink, and (for a tree) everything under it, owned by a trusted uid and not
 * writable by anyone else (lib/core/ownership.ts holds the rule for one file). `install` uses
 * it on the code the kernel will run as root; `show` and the daemon on a snapshot before
 * babeltrace2 reads it.
 *
 * @module
 */
import { octalMode, ownershipProblem } from "../core/ownership.ts";

/** What the checks read of a file: an lstat result. */
export interface PathStat {
  /** The owner's uid. */
  uid: number | null;
  /** The owner's gid. */
  gid: number | null;
  /** Type and permission bits. */
  mode: number | null;
  /** Whether it is a symlink. */
  isSymlink: boolean;
  /** Whether it is a directory. */
  isDirectory: boolean;
}

/** The filesystem calls the checks make: injected by tests. */
export interface PathFs {
  /** `lstat(2)`. */
  lstat(path: string): Promise<PathStat>;
  /** `readlink(2)`. */
  readLink(path: string): Promise<string>;
  /** The names in a directory. */
  readDir(path: string): AsyncIterable<{ name: string }>;
}

/** The real filesystem. */
export const denoPathFs: PathFs = {
  lstat: (path) => Deno.lstat(path),
  readLink: (path) => Deno.readLink(path),
  readDir: (path) => Deno.readDir(path),
};

/** Whom to trust. */
export interface TrustRule {
  /** The uids that may own every file. */
  owners: readonly number[];
  /** Gids whose members may write (an owner's own group). @default none */
  groups?: readonly number[];
  /**
   * Whether a sticky directory that others can write (`/tmp`) may be a parent: no one can
   * rename or remove the trusted entry in it. Never for the path itself. @default false
   */
  stickyParents?: boolean;
}

/** One file that cannot be trusted, and why. */
export interface PathProblem {
  /** The file. */
  path: string;
  /** Why, for a message: `owned by uid 1000`, `mode 775`, `a symlink`, `missing`. */
  why: string;
}

/** The problems found, the first `limit`, and the path with its symlinks resolved. */
export interface PathCheck {
  /** What cannot be trusted (at most the limit). */
  problems: PathProblem[];
  /** The resolved path, when it exists. */
  real?: string;
}

const MAX_LINKS = 40;

/** Checks paths against a rule, remembering what it has seen. */
export class PathTrust {
  readonly problems: PathProblem[] = [];
  #fs: PathFs;
  #rule: TrustRule;
  #limit: number;
  #seen = new Set<string>();

  /** Check against `rule`, stopping at `limit` problems. */
  constructor(rule: TrustRule, options: { fs?: PathFs; limit?: number } = {}) {
    this.#rule = rule;
    this.#fs = options.fs ?? denoPathFs;
    this.#limit = options.limit ?? 5;
  }

  /** Whether enough problems were found to stop. */
  get full(): boolean {
    return this.problems.length >= this.#limit;
  }

  #add(path: string, why: string): void {
    if (!this.full && !this.problems.some((p) => p.path === path)) {
      this.problems.push({ path, why });
    }
  }

  /** Record a problem the caller found itself (a file that must not be there). */
  report(path: string, why: string): void {
    this.#add(path, why);
  }

  /** Check one file (not through a symlink); `parent`: whether something lies below it. */
  #judge(path: string, st: PathStat, parent: boolean): void {
    const p = ownershipProblem(st, this.#rule.owners);
    if (p === undefined) return;
    if (p.kind === "owner") return this.#add(path, `owned by uid ${p.uid}`);
    const mode = st.mode ?? 0;
    const sticky = parent && st.isDirectory && (mode & 0o1000) !== 0 &&
      this.#rule.stickyParents === true;
    const othersWrite = (mode & 0o002) !== 0;
    const groupOk = (mode & 0o020) === 0 || this.#rule.groups?.includes(st.gid ?? -1) === true;
    if ((othersWrite || !groupOk) && !sticky) {
      const shown = (mode & 0o1000) !== 0
        ? `1${octalMode(mode).padStart(3, "0")}`
        : octalMode(mode);
      this.#add(path, `mode ${shown}, writable by ${othersWrite ? "others" : "group"}`);
    }
  }

  /**
   * Check every directory from `/` to `path` and `path` itself, following symlinks (a
   * link's own mode means nothing: its directory is checked, then its target). Resolves to
   * the real path, or undefined when it is missing (which is no problem).
   */
  async chain(path: string, links = 0): Promise<string | undefined> {
    if (!path.startsWith("/")) throw new TypeError(`Cannot check "${path}": not absolute`);
    const parts = path.split("/").filter((s) => s !== "" && s !== ".");
    let real = "";
    await this.#visit("/", parts.length > 0);
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === "..") {
        real = real.slice(0, real.lastIndexOf("/"));
        continue;
      }
      const next = `${real}/${parts[i]}`;
      let st: PathStat;
      try {
        st = await this.#fs.lstat(next);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return undefined;
        throw err;
      }
      if (st.isSymlink) {
        if (links >= MAX_LINKS) {
          this.#add(next, "too many levels of symlinks");
          return undefined;
        }
        const target = await this.#fs.readLink(next);
        const rest = parts.slice(i + 1).join("/");
        const base = target.startsWith("/") ? target : `${real}/${target}`;
        return await this.chain(rest === "" ? base : `${base}/${rest}`, links + 1);
      }
      if (!this.#seen.has(next)) {
        this.#seen.add(next);
        this.#judge(next, st, i < parts.length - 1);
      }
      real = next;
    }
    return real === "" ? "/" : real;
  }

  async #visit(path: string, parent: boolean): Promise<void> {
    if (this.#seen.has(path)) return;
    this.#seen.add(path);
    this.#judge(path, await this.#fs.lstat(path), parent);
  }

  /**
   * Check everything under the directory `dir` (already checked by {@linkcode chain}). A
   * symlink inside is followed with `chain` when `links` is "follow", else is a problem.
   */
  async tree(dir: string, links: "follow" | "refuse"): Promise<void> {
    const walked = new Set<string>([dir]);
    const stack = [dir];
    while (stack.length > 0 && !this.full) {
      const current = stack.pop()!;
      for await (const entry of this.#fs.readDir(current)) {
        if (this.full) return;
        const path = `${current}/${entry.name}`;
        const st = await this.#fs.lstat(path);
        let realDir: string | undefined;
        if (st.isSymlink) {
          if (links === "refuse") {
            this.#add(path, "a symlink");
            continue;
          }
          const real = await this.chain(path);
          if (real !== undefined && (await this.#fs.lstat(real)).isDirectory) realDir = real;
        } else {
          this.#seen.add(path);
          this.#judge(path, st, false);
          if (st.isDirectory) realDir = path;
        }
        if (realDir !== undefined && !walked.has(realDir)) {
          walked.add(realDir);
          stack.push(realDir);
        }
      }
    }
  }
}

/** Problems as a message: `/a (owned by uid 1000), /a/b (mode 775, writable by group)`. */
export function describeProblems(problems: readonly PathProblem[]): string {
  return problems.map((p) => `${p.path} (${p.why})`).join(", ");
}
