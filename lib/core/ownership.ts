/**
 * One check of "owned by this uid and not writable by group or others", which root
 * relies on before it trusts a directory, a socket or a file (docs/DESIGN.md, "Security
 * model"). Each caller words its own refusal; the rule lives here.
 *
 * @module
 */

/** What makes a file untrusted: its owner, or a mode that lets group or others write. */
export type OwnershipProblem =
  | { kind: "owner"; uid: number }
  | { kind: "writable"; mode: number };

/** The parts of a `Deno.FileInfo` (or an lstat result) the check reads. */
export interface OwnedFile {
  /** The owner's uid (`null` where the platform has none: never trusted). */
  uid: number | null;
  /** The mode bits (`null` where unknown: read as 0). */
  mode: number | null;
}

/**
 * Why `st` cannot be trusted, or `undefined` when it is owned by one of `owners` and not
 * writable by group or others.
 *
 * @example
 * ```ts
 * import { ownershipProblem } from "./ownership.ts";
 * ownershipProblem({ uid: 0, mode: 0o40755 }, [0]); // undefined
 * ownershipProblem({ uid: 0, mode: 0o41777 }, [0]); // { kind: "writable", mode: 0o777 }
 * ```
 */
export function ownershipProblem(
  st: OwnedFile,
  owners: readonly number[],
): OwnershipProblem | undefined {
  const uid = st.uid ?? -1;
  if (!owners.includes(uid)) return { kind: "owner", uid };
  const mode = (st.mode ?? 0) & 0o777;
  if ((mode & 0o022) !== 0) return { kind: "writable", mode };
  return undefined;
}

/** Permission bits as `chmod` spells them: `755`. */
export function octalMode(mode: number): string {
  return (mode & 0o777).toString(8);
}

/**
 * Why root must not trust the file or directory at `path` that lstat described as `st`,
 * in words for the user, or `undefined` when it may: a link, or a file another user owns
 * or can write. For the state files root acts on (install.json, notifier.json).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trustRefusal } from "./ownership.ts";
 *
 * assert.equal(trustRefusal({ uid: 0, mode: 0o100600, isSymlink: false }, "/s/x.json", [0]), undefined);
 * assert.equal(
 *   trustRefusal({ uid: 0, mode: 0o100666, isSymlink: false }, "/s/x.json", [0]),
 *   "/s/x.json is writable by others (mode 666): run 'chmod go-w /s/x.json'",
 * );
 * ```
 */
export function trustRefusal(
  st: OwnedFile & { isSymlink: boolean },
  path: string,
  owners: readonly number[],
): string | undefined {
  if (st.isSymlink) return `${path} is a symbolic link: remove it`;
  const problem = ownershipProblem(st, owners);
  if (problem?.kind === "owner") {
    return `${path} belongs to uid ${problem.uid}, not to you: remove it`;
  }
  if (problem?.kind === "writable") {
    return `${path} is writable by others (mode ${
      octalMode(problem.mode)
    }): run 'chmod go-w ${path}'`;
  }
  return undefined;
}
