/**
 * What install checks before it changes anything: the executable the pattern names, the
 * directory the notifier keeps cores in, and, in socket mode, the daemon's coredump
 * socket. Each refusal is a {@linkcode CommandError} that says what to do.
 *
 * @module
 */
import { CommandError } from "../errors.ts";
import { octalMode, ownershipProblem } from "../ownership.ts";
import { ControlClient } from "../client/client.ts";
import { kernelHasCoredumpSocket, patternPathProblem } from "./pattern.ts";

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
 * The daemon's coredump socket, once checked: the kernel has the mode, the daemon that
 * answers on `controlSocket` listens there, and cannot dump core into its own socket.
 */
export async function coredumpSocketReady(controlSocket: string): Promise<string> {
  const release = Deno.osRelease();
  if (!kernelHasCoredumpSocket(release)) {
    throw new CommandError(
      `the kernel's coredump socket needs Linux 6.16 or later, and this is ${release}: install without --socket (the notifier works on every kernel)`,
    );
  }
  const status = await new ControlClient(controlSocket).status();
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
