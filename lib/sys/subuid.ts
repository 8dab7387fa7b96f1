/**
 * Subordinate uids (`/etc/subuid`, the ranges rootless containers map): every per-uid
 * limit counts a subordinate uid as its owner, so that a user with 65536 subordinate uids
 * does not get 65537 shares. This is the one place that maps a uid to the uid its limits
 * count against: held crashes, cooldown and daily maximum, kept cores, crash reports and
 * history.
 *
 * The file is read bounded (its first {@linkcode SUBUID_MAX_BYTES}, at most
 * {@linkcode SUBUID_MAX_RANGES} ranges) and only when it is a regular file that root owns
 * and no one else can write; anything else maps every uid to itself. A range owned by root
 * is ignored (root's crashes are exempt from the limits; its containers' are not), and so
 * is a uid that has an account of its own in /etc/passwd.
 *
 * @module
 */

/** Where the ranges are, as shadow's newuidmap reads them. */
export const SUBUID_PATH = "/etc/subuid";
/** The password database, for owners named by login. */
export const PASSWD_PATH = "/etc/passwd";
/** Bytes of each file read at most. */
export const SUBUID_MAX_BYTES = 4 << 20;
/** Ranges kept at most. */
export const SUBUID_MAX_RANGES = 100_000;

/** One line of /etc/subuid: `owner` may use `count` uids from `start`. */
export interface SubordinateRange {
  /** The owner's uid. */
  owner: number;
  /** First subordinate uid. */
  start: number;
  /** How many. */
  count: number;
}

const UID_MAX = 0xffff_fffe; // (uid_t)-1 is no uid

function uidOf(text: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= UID_MAX ? n : undefined;
}

/** The uids of the accounts in `/etc/passwd` text, by login name. */
export function parsePasswdUids(text: string): Map<string, number> {
  const names = new Map<string, number>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || f[0] === "" || f[0].startsWith("+") || f[0].startsWith("-")) continue;
    const uid = uidOf(f[2]);
    if (uid !== undefined && !names.has(f[0])) names.set(f[0], uid);
  }
  return names;
}

/**
 * The ranges of `/etc/subuid` text (`owner:start:count`, owner a login or a uid), each
 * checked: a malformed line, an unknown or root owner, an empty range or one that passes
 * the last uid is skipped. Sorted by start.
 *
 * @example
 * ```ts
 * import { parseSubuid } from "./subuid.ts";
 * const ranges = parseSubuid("alice:100000:65536\n", new Map([["alice", 1000]]));
 * if (ranges[0].owner !== 1000) throw new Error("not alice's");
 * ```
 */
export function parseSubuid(text: string, names: ReadonlyMap<string, number>): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const raw of text.split("\n")) {
    if (ranges.length >= SUBUID_MAX_RANGES) break;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length !== 3) continue;
    const owner = names.get(f[0]) ?? uidOf(f[0]);
    const start = uidOf(f[1]);
    const count = uidOf(f[2]);
    if (owner === undefined || owner === 0 || start === undefined || count === undefined) continue;
    if (count === 0 || start === 0 || start + count - 1 > UID_MAX) continue;
    ranges.push({ owner, start, count });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/**
 * The uid whose limits a crash of `uid` counts against: the owner of the first range that
 * holds it, or `uid` itself (root, a uid with an account of its own, one in no range).
 */
export function ownerIn(
  uid: number,
  ranges: readonly SubordinateRange[],
  accounts: ReadonlySet<number>,
): number {
  if (uid === 0 || accounts.has(uid)) return uid;
  // Ranges may overlap (the file is the administrator's): the first by start that holds it.
  for (const r of ranges) {
    if (r.start > uid) break;
    if (uid < r.start + r.count) return r.owner;
  }
  return uid;
}

/** Read `path` bounded, only when root owns it and only root may write it. */
function readTrusted(path: string): string | undefined {
  let file: Deno.FsFile | undefined;
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile || st.uid !== 0 || ((st.mode ?? 0o777) & 0o022) !== 0) return undefined;
    file = Deno.openSync(path, { read: true });
    const buf = new Uint8Array(Math.min(st.size, SUBUID_MAX_BYTES));
    let n = 0;
    while (n < buf.byteLength) {
      const r = file.readSync(buf.subarray(n));
      if (r === null || r === 0) break;
      n += r;
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

/** Options of {@linkcode SubuidOwners}. */
export interface SubuidOwnersOptions {
  /** The ranges' file. @default SUBUID_PATH */
  subuidPath?: string;
  /** The password database. @default PASSWD_PATH */
  passwdPath?: string;
}

/**
 * Maps uids to the uid their limits count against, re-reading the files only when their
 * inode, size or mtime changed (one `lstat` per lookup otherwise). The password database
 * is read only when a range holds the uid: most lookups read /etc/subuid alone.
 */
export class SubuidOwners {
  #subuid: string;
  #passwd: string;
  #stamp = "";
  #text = "";
  #names?: { stamp: string; names: Map<string, number> };
  #ranges?: SubordinateRange[];

  /** Read from the system's files, or from `options`' paths. */
  constructor(options: SubuidOwnersOptions = {}) {
    this.#subuid = options.subuidPath ?? SUBUID_PATH;
    this.#passwd = options.passwdPath ?? PASSWD_PATH;
  }

  /** The uid a crash of `uid` counts against (see {@linkcode ownerIn}). */
  ownerOf(uid: number): number {
    if (uid === 0) return 0;
    this.#refresh();
    if (!this.#mayHold(uid)) return uid;
    const names = this.#accounts();
    return ownerIn(uid, this.#parsed(names), new Set(names.values()));
  }

  /** The ranges of subordinate uids that count against `owner`. */
  rangesOf(owner: number): SubordinateRange[] {
    this.#refresh();
    return this.#parsed(this.#accounts()).filter((r) => r.owner === owner);
  }

  // Whether some line's numbers hold `uid`, before any owner is looked up.
  #mayHold(uid: number): boolean {
    for (const line of this.#text.split("\n")) {
      const f = line.trim().split(":");
      if (f.length !== 3) continue;
      const start = uidOf(f[1]);
      const count = uidOf(f[2]);
      if (start !== undefined && count !== undefined && uid >= start && uid - start < count) {
        return true;
      }
    }
    return false;
  }

  #parsed(names: ReadonlyMap<string, number>): SubordinateRange[] {
    this.#ranges ??= parseSubuid(this.#text, names);
    return this.#ranges;
  }

  #accounts(): Map<string, number> {
    const now = stampOf(this.#passwd);
    if (this.#names?.stamp !== now) {
      this.#names = { stamp: now, names: parsePasswdUids(readTrusted(this.#passwd) ?? "") };
      this.#ranges = undefined;
    }
    return this.#names.names;
  }

  #refresh(): void {
    const now = stampOf(this.#subuid);
    if (now === this.#stamp) return;
    this.#stamp = now;
    this.#text = readTrusted(this.#subuid) ?? "";
    this.#ranges = undefined;
  }
}

function stampOf(path: string): string {
  try {
    const st = Deno.lstatSync(path);
    return `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
  } catch {
    return "-";
  }
}

let shared: SubuidOwners | undefined;

/** The uid a crash of `uid` counts against, with the system's files (one cache per process). */
export function limitUidOf(uid: number): number {
  shared ??= new SubuidOwners();
  return shared.ownerOf(uid);
}
