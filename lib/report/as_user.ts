/**
 * Work done for a crash after its release (decompressing its core, eu-stack) runs with
 * the crashing user's uid and groups, as systemd-coredump drops to the crashing user
 * before it analyses a core: every path the core names (the executable, its libraries)
 * is then opened with that user's rights, so a symlink to a file only root can read
 * yields nothing, and a FIFO blocks only that user's report.
 *
 * Through util-linux `setpriv` (essential in Debian), which execs the program (one pid,
 * killed at the deadline as before): `--reuid`/`--regid`, the user's login groups
 * (`--init-groups`, initgroups(3): what the user's own processes can read anyway) when
 * the uid has an account, none (`--clear-groups`) when it has not (a subordinate uid), and
 * `--no-new-privs`. Deno's own `uid`/`gid` spawn options would clear the supplementary
 * groups: a user's files readable through a group of theirs would then be missing from
 * the report. Leaving root drops every capability.
 *
 * @module
 */
import { parsePasswdUids, PASSWD_PATH } from "../sys/subuid.ts";

/** Whom to run as. */
export interface RunAs {
  /** Uid (global). */
  uid: number;
  /** Primary gid (global). */
  gid: number;
  /** Whether the uid has an account, whose login groups it then gets. */
  account: boolean;
}

/** The uid and gid that no crash can name: `(uid_t)-1`, an unknown id. */
const UNKNOWN_ID = 0xffff_ffff;
/** Who runs the work of a crash whose uid is unknown: `nobody`. */
export const NOBODY = 65534;

/**
 * Whom the work for a crash of `uid`/`gid` runs as, or `undefined` to run it as the daemon
 * itself: a daemon that is not root cannot change users (and serves its own user's
 * crashes only), and root's crashes are root's. An unknown uid runs as `nobody`.
 */
export function runAsFor(
  uid: number | undefined,
  gid: number | undefined,
  daemonUid: number | null = Deno.uid(),
): RunAs | undefined {
  if (daemonUid !== 0 || uid === undefined || uid === 0) return undefined;
  if (uid === UNKNOWN_ID) return { uid: NOBODY, gid: NOBODY, account: false };
  let account = false;
  try {
    account = [...parsePasswdUids(Deno.readTextFileSync(PASSWD_PATH)).values()].includes(uid);
  } catch { /* no password database: no groups */ }
  return { uid, gid: gid === undefined || gid === UNKNOWN_ID ? NOBODY : gid, account };
}

/** The command that runs `program` with `args` as `who` (through setpriv). */
export function asUser(
  program: string,
  args: readonly string[],
  who: RunAs,
): { program: string; args: string[] } {
  return {
    program: "setpriv",
    args: [
      `--reuid=${who.uid}`,
      `--regid=${who.gid}`,
      who.account ? "--init-groups" : "--clear-groups",
      "--no-new-privs",
      "--",
      program,
      ...args,
    ],
  };
}
