/**
 * Whether the daemon is protected from dumping core into its own coredump socket. If it
 * crashed while core_pattern points at its socket, the kernel would connect to the
 * socket of the frozen daemon and wait forever (the kernel's documentation asks such a
 * server to be non-dumpable). Deno has no prctl(PR_SET_DUMPABLE) without FFI, so the
 * launcher runs the root daemon with an effective gid different from its real gid: the
 * kernel then sets the process non-dumpable at exec, as long as fs.suid_dumpable is 0.
 *
 * @module
 */
import process from "node:process";

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

/** Check the protection (effective gid and fs.suid_dumpable). */
export async function selfDumpProtection(): Promise<SelfDumpProtection> {
  const [gid, egid] = [process.getgid?.(), process.getegid?.()];
  if (gid === undefined || egid === undefined || gid === egid) {
    return {
      protected: false,
      reason:
        "the daemon is dumpable (its effective gid is its real gid): start it through bin/lttng-trig or the systemd unit, which run it with another effective gid, before installing the coredump socket",
    };
  }
  const mode = await suidDumpable();
  if (mode !== "0") {
    return {
      protected: false,
      reason: `fs.suid_dumpable is ${
        mode ?? "unknown"
      }, not 0: the daemon would still dump core into its own socket; set it to 0 (sysctl fs.suid_dumpable=0) to use the coredump socket`,
    };
  }
  return {
    protected: true,
    reason:
      `non-dumpable: effective gid ${egid} differs from real gid ${gid} and fs.suid_dumpable is 0`,
  };
}
