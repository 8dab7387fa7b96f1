/**
 * The per-uid cap on crashes held at once: each notifier that waits for replies holds
 * one of `cap` slot files of its crash's uid, locked with `flock` in a directory only
 * root can write (`RUN_DIR/lttng-trig-held`, 0700). Past the cap the notifier sends
 * and releases at once, so that no uid can fill the kernel's `core_pipe_limit`. The
 * locks die with their process: a killed notifier frees its slot. A subordinate uid
 * (/etc/subuid) takes its owner's slots.
 *
 * @module
 */
import { ownershipProblem } from "../core/ownership.ts";
import { HELD_DIR_NAME } from "../core/paths.ts";
import { tryLockFile } from "./peer_cred.ts";
import { limitUidOf } from "../sys/subuid.ts";

/**
 * Take one of the `cap` slots of `uid` (of its owner, for a subordinate uid) under `runDir`. Resolves to the function that frees
 * it, or `undefined` when all are taken or no safe slot directory can be had (then the
 * crash must not be held).
 */
export async function holdSlot(
  runDir: string,
  uid: number,
  cap: number,
): Promise<(() => void) | undefined> {
  const safe = async (path: string) => {
    const st = await Deno.lstat(path).catch(() => undefined);
    return st !== undefined && st.isDirectory && ownershipProblem(st, [0]) === undefined;
  };
  if (!(await safe(runDir))) return undefined;
  const dir = `${runDir}/${HELD_DIR_NAME}`;
  await Deno.mkdir(dir, { mode: 0o700 }).catch(() => {});
  if (!(await safe(dir))) return undefined;
  const owner = limitUidOf(uid);
  for (let i = 0; i < cap; i++) {
    const unlock = tryLockFile(`${dir}/uid-${owner}.${i}`);
    if (unlock !== undefined) return unlock;
  }
  return undefined;
}
