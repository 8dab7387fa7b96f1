/**
 * Whether the daemon is protected from dumping core into its own coredump socket. If it
 * crashed while core_pattern points at its socket, the kernel would connect to the
 * socket of the frozen daemon and wait forever (the kernel's documentation asks such a
 * server to be non-dumpable). Deno has no prctl, so the daemon calls
 * prctl(PR_SET_DUMPABLE, 0) through libc (lib/daemon/libc.ts), before it binds the
 * coredump socket, and binds none when that fails.
 *
 * @module
 */
import { type Libc, libc } from "./libc.ts";

/** The protection in force, and why not when it is not. */
export interface SelfDumpProtection {
  /** The daemon cannot dump core (so it cannot deadlock on its own socket). */
  protected: boolean;
  /** What makes it so, or what is missing. */
  reason: string;
}

/** Make the daemon non-dumpable with prctl, and say whether it is. */
export function selfDumpProtection(
  lib: Pick<Libc, "setNotDumpable"> | string = libc(),
): SelfDumpProtection {
  let why: string;
  if (typeof lib === "string") {
    why = lib;
  } else {
    try {
      if (lib.setNotDumpable()) {
        return { protected: true, reason: "non-dumpable: prctl(PR_SET_DUMPABLE, 0)" };
      }
      why = "prctl(PR_SET_DUMPABLE, 0) did not take";
    } catch (err) {
      why = `prctl: ${(err as Error).message}`;
    }
  }
  return {
    protected: false,
    reason:
      `the daemon is dumpable (${why}): it would dump core into its own socket, so the coredump socket is not bound`,
  };
}
