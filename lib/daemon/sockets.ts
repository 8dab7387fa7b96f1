/**
 * Unix sockets that exist only with their final mode and owner: bound in a private
 * temporary directory, chmod-ed and chown-ed there, then renamed into place (which also
 * replaces a stale socket file atomically).
 *
 * @module
 */

/** A listening socket and the inode it was bound to. */
export interface BoundSocket {
  /** The listener. */
  listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  /** Final path. */
  path: string;
  /** Inode of the socket file, to remove only our own at shutdown. */
  ino: number | null;
}

/** Options of {@linkcode bindSocket}. */
export interface BindSocketOptions {
  /** File mode of the socket. */
  mode: number;
  /** Group to give the socket, when not the daemon's own. */
  gid?: number;
}

function dirnameOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Bind a unix socket at `path` with its final mode from the start. */
export async function bindSocket(path: string, options: BindSocketOptions): Promise<BoundSocket> {
  const tmpDir = await Deno.makeTempDir({ dir: dirnameOf(path), prefix: ".lttng-trig-" });
  const tmpPath = `${tmpDir}/s`;
  let listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr> | undefined;
  try {
    listener = Deno.listen({ transport: "unix", path: tmpPath });
    if (options.gid !== undefined) await Deno.chown(tmpPath, null, options.gid);
    await Deno.chmod(tmpPath, options.mode);
    await Deno.rename(tmpPath, path);
    const ino = (await Deno.lstat(path)).ino;
    return { listener, path, ino };
  } catch (err) {
    listener?.close();
    throw err;
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/** Remove `socket`'s file if it is still ours (another daemon may have replaced it). */
export async function unlinkOwnSocket(socket: BoundSocket): Promise<void> {
  try {
    const st = await Deno.lstat(socket.path);
    if (st.isSocket && st.ino === socket.ino) await Deno.remove(socket.path);
  } catch { /* gone already */ }
}

/** Does something accept connections on the unix socket at `path`? */
export async function socketAnswers(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Gid of `group` from /etc/group, or `undefined` where it does not exist. */
export async function groupId(group: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile("/etc/group");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/**
 * Accept connections on `listener` and hand each to `onConn`, until the listener is
 * closed or `closing()` is true (a connection accepted then is closed). EMFILE and the
 * like skip one accept: the daemon keeps serving.
 */
export async function acceptLoop<C extends { close(): void }>(
  listener: { accept(): Promise<C> },
  options: { closing(): boolean; onConn(conn: C): void },
): Promise<void> {
  while (!options.closing()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (options.closing() || err instanceof Deno.errors.BadResource) return;
      continue;
    }
    if (options.closing()) {
      conn.close();
      return;
    }
    options.onConn(conn);
  }
}
