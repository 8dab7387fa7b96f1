/**
 * Whether the daemon is protected from dumping core into its own coredump socket. If it
 * crashed while core_pattern points at its socket, the kernel would connect to the
 * socket of the frozen daemon and wait forever (the kernel's documentation asks such a
 * server to be non-dumpable). The daemon calls prctl(PR_SET_DUMPABLE, 0) through libc
 * (lib/daemon/libc.ts). Where libc cannot be loaded, the launcher's second layer still
 * holds: it runs the root daemon with an effective gid other than its real gid, and the
 * kernel then makes the process non-dumpable at exec, as long as fs.suid_dumpable is 0.
 *
 * @module
 */
import process from "node:process";
import { type Libc, libc } from "./libc.ts";

/** The protection in force, and why not when it is not. */
export interface SelfDumpProtection {
  /** The daemon cannot dump core (so it cannot deadlock on its own socket). */
  protected: boolean;
  /** What makes it so, or what is missing. */
  reason: string;
}

async function suidDumpable(): Promise<string | undefined> {
  for (const cmd of ["sysctl", "/usr/sbin/sysctl", "/sbin/sysctl"]) {
    try {
      const out = await new Deno.Command(cmd, {
        args: ["-n", "fs.suid_dumpable"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success) return new TextDecoder().decode(out.stdout).trim();
    } catch { /* try the next */ }
  }
  return undefined;
}

/**
 * Make the daemon non-dumpable (prctl), or else check the launcher's protection
 * (effective gid and fs.suid_dumpable).
 */
export async function selfDumpProtection(
  lib: Pick<Libc, "setNotDumpable"> | string = libc(),
): Promise<SelfDumpProtection> {
  let why = typeof lib === "string" ? lib : "";
  if (typeof lib !== "string") {
    try {
      if (lib.setNotDumpable()) {
        return { protected: true, reason: "non-dumpable: prctl(PR_SET_DUMPABLE, 0)" };
      }
      why = "prctl(PR_SET_DUMPABLE, 0) did not take";
    } catch (err) {
      why = `prctl: ${(err as Error).message}`;
    }
  }
  const [gid, egid] = [process.getgid?.(), process.getegid?.()];
  if (gid === undefined || egid === undefined || gid === egid) {
    return {
      protected: false,
      reason:
        `the daemon is dumpable (${why}, and its effective gid is its real gid): start it through bin/lttng-trig or the systemd unit, which run it with another effective gid, before installing the coredump socket`,
    };
  }
  const mode = await suidDumpable();
  if (mode !== "0") {
    return {
      protected: false,
      reason: `${why}, and fs.suid_dumpable is ${
        mode ?? "unknown"
      }, not 0: the daemon would still dump core into its own socket; set it to 0 (sysctl fs.suid_dumpable=0) to use the coredump socket`,
    };
  }
  return {
    protected: true,
    reason:
      `non-dumpable: effective gid ${egid} differs from real gid ${gid} and fs.suid_dumpable is 0 (${why})`,
  };
}
