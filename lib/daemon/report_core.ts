/**
 * The core a report reads: the kept core (zstd) decompressed into the report's private
 * directory, after a check that it fits in the free space, and, for another user's
 * crash in the root daemon, by `zstd` running as that user (lib/report/as_user.ts), so
 * that the file is theirs and is written with their rights and limits.
 *
 * @module
 */
import fs from "node:fs";
import zlib from "node:zlib";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { asUser, type RunAs } from "../report/as_user.ts";

/**
 * Decompresses `source` (zstd) into `target` (a new file), at most `maxBytes`; as `as`
 * when given.
 */
export type Decompressor = (
  source: string,
  target: string,
  maxBytes: number,
  as?: RunAs,
) => Promise<void>;

/** A filesystem's size and the bytes an unprivileged writer may still use. */
export interface FsSpace {
  /** Total bytes. */
  size: number;
  /** Available bytes (`f_bavail`). */
  free: number;
}

/** Share of the filesystem left free after a report's core is decompressed. */
export const REPORT_KEEP_FREE_SHARE = 0.05;
/** At most this many bytes are kept free for {@linkcode REPORT_KEEP_FREE_SHARE}. */
export const REPORT_KEEP_FREE_MAX = 1024 ** 3;
/** How long the decompression may take, in milliseconds. */
export const DECOMPRESS_TIMEOUT_MS = 120_000;

/** The free space of the filesystem of `dir` (statfs). */
export function statfsSpace(dir: string): FsSpace {
  const st = fs.statfsSync(dir);
  return { size: st.blocks * st.bsize, free: st.bavail * st.bsize };
}

/**
 * Why a core of `bytes` must not be decompressed into `dir`, or `undefined` when it fits:
 * it must leave 5 % of the filesystem (at most 1 GiB) free.
 */
export function noRoomFor(bytes: number, dir: string, space: FsSpace): string | undefined {
  const keep = Math.min(Math.floor(space.size * REPORT_KEEP_FREE_SHARE), REPORT_KEEP_FREE_MAX);
  if (bytes + keep <= space.free) return undefined;
  return `not enough free space to decompress the core: it needs ${bytes} bytes, ${dir} has ${space.free} free and keeps ${keep} free`;
}

/**
 * Decompress the zstd file `source` into `target` (created, never over an existing file),
 * streamed: memory holds a window, whatever the core's size. Rejects past `maxBytes` of
 * output. With `as`, `zstd -d` does it as that user, in `target`'s directory (which that
 * user must own), its file size limited to `maxBytes` (RLIMIT_FSIZE) and RLIMIT_CORE 1,
 * the kernel's mark that a crash of it must not be piped to a helper again.
 */
export async function decompressZstd(
  source: string,
  target: string,
  maxBytes: number,
  as?: RunAs,
): Promise<void> {
  if (as !== undefined) return await zstdAs(source, target, maxBytes, as);
  let written = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _enc, done) {
      written += chunk.byteLength;
      if (written > maxBytes) {
        done(new RangeError(`Cannot decompress ${source}: more than ${maxBytes} bytes`));
      } else done(null, chunk);
    },
  });
  await pipeline(
    fs.createReadStream(source),
    zlib.createZstdDecompress(),
    bound,
    fs.createWriteStream(target, { flags: "wx", mode: 0o600 }),
  );
}

async function zstdAs(source: string, target: string, maxBytes: number, as: RunAs) {
  const slash = target.lastIndexOf("/");
  const [dir, name] = [target.slice(0, slash), target.slice(slash + 1)];
  const zstd = asUser("zstd", ["-d", "-q", "--no-progress", "-o", `./${name}`, "-"], as);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("prlimit", {
      args: [`--fsize=${maxBytes}`, "--core=1", "--", zstd.program, ...zstd.args],
      cwd: dir,
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error(`cannot run prlimit, setpriv and zstd: ${(err as Error).message}`);
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, DECOMPRESS_TIMEOUT_MS);
  try {
    // The kept core is root's: read here, given to zstd on its stdin.
    const fed = Deno.open(source, { read: true }).then((f) => f.readable.pipeTo(child.stdin))
      .catch((err) => {
        child.stdin.close().catch(() => {});
        return err as Error;
      });
    const [failedFeed, stderr, status] = await Promise.all([
      fed,
      new Response(child.stderr).text(),
      child.status,
    ]);
    if (status.signal === "SIGXFSZ") throw new RangeError(`more than ${maxBytes} bytes`);
    if (!status.success) {
      const why = stderr.trim().split("\n").pop() ?? "";
      throw new Error(
        `zstd as uid ${as.uid} failed (${status.signal ?? `exit ${status.code}`})${
          why ? `: ${why}` : ""
        }`,
      );
    }
    if (failedFeed instanceof Error) throw failedFeed;
  } finally {
    clearTimeout(timer);
  }
}
