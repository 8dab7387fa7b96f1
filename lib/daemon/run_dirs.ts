/**
 * The daemon's directories: created and checked before anything is put in them, locked
 * so that two daemons never share them, and the pid file.
 *
 * @module
 */
import { LOCK_FILE_NAME, PID_FILE_NAME } from "../core/paths.ts";
import { octalMode, ownershipProblem } from "../core/ownership.ts";

/** The daemon cannot start; the message says why and what to do. */
export class DaemonStartError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DaemonStartError";
  }
}

/**
 * Create `dir` if missing (with `mode`), and refuse one that someone other than `uid`
 * or root owns, or that others can write: our sockets and store live there.
 */
export async function prepareDir(
  dir: string,
  mode: number,
  uid: number,
  what: "run" | "state",
): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw new DaemonStartError(
      `Cannot create the ${what} directory ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const st = await Deno.lstat(dir);
  if (!st.isDirectory) {
    throw new DaemonStartError(`The ${what} directory ${dir} is not a directory (or is a link)`);
  }
  const problem = ownershipProblem(st, [uid, 0]);
  if (problem?.kind === "owner") {
    throw new DaemonStartError(
      `The ${what} directory ${dir} belongs to uid ${problem.uid}, not to you (uid ${uid}): pass another --${what}-dir`,
    );
  }
  if (problem?.kind === "writable") {
    throw new DaemonStartError(
      `The ${what} directory ${dir} is writable by others (mode ${
        octalMode(problem.mode)
      }): run 'chmod go-w ${dir}' or pass another --${what}-dir`,
    );
  }
}

/** Take `dir`'s lock file, or refuse: another daemon holds it. */
export async function lockDir(dir: string, what: "run" | "state"): Promise<Deno.FsFile> {
  const path = `${dir}/${LOCK_FILE_NAME}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (err) {
    throw new DaemonStartError(`Cannot open the lock file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (err) {
    file.close();
    throw new DaemonStartError(`Cannot lock ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!locked) {
    file.close();
    throw new DaemonStartError(
      `another lttng-trig daemon uses the ${what} directory ${dir} (it holds ${path}): stop it first, or pass another --${what}-dir`,
    );
  }
  return file;
}

/**
 * Lock the run directory, and the state directory when it is another one; on failure
 * nothing stays locked.
 */
export async function lockDirs(runDir: string, stateDir: string): Promise<Deno.FsFile[]> {
  const locks: Deno.FsFile[] = [];
  try {
    locks.push(await lockDir(runDir, "run"));
    const [run, state] = await Promise.all([Deno.stat(runDir), Deno.stat(stateDir)]);
    if (run.dev !== state.dev || run.ino !== state.ino) {
      locks.push(await lockDir(stateDir, "state"));
    }
    return locks;
  } catch (err) {
    releaseLocks(locks);
    throw err;
  }
}

/** Release `locks` (closing a lock file releases it). */
export function releaseLocks(locks: Deno.FsFile[]): void {
  for (const lock of locks) {
    try {
      lock.close();
    } catch { /* closed */ }
  }
}

/** Write this process's pid to `RUN_DIR/lttng-trig.pid`. */
export async function writePidFile(runDir: string): Promise<void> {
  await Deno.writeTextFile(`${runDir}/${PID_FILE_NAME}`, `${Deno.pid}\n`, { mode: 0o644 });
}

/** Remove the pid file, if it is still this process's. */
export async function removeOwnPidFile(runDir: string): Promise<void> {
  try {
    const pidFile = `${runDir}/${PID_FILE_NAME}`;
    if ((await Deno.readTextFile(pidFile)).trim() === String(Deno.pid)) {
      await Deno.remove(pidFile);
    }
  } catch { /* not ours or gone */ }
}
