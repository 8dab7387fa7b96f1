/**
 * The notifier's side effects, as an interface: injected so that its logic is testable
 * without a kernel (lib/notify/io.ts has the real ones), and what releasing a core gave.
 *
 * @module
 */
import type { ByteReader, ByteWriter } from "../wire/frame.ts";
import type { CoreFate } from "../protocol/records.ts";

/** File facts the safety checks need (from `lstat`, which never follows a link). */
export interface FileFacts {
  /** It is a unix socket. */
  isSocket: boolean;
  /** It is a directory (not a link to one). */
  isDirectory: boolean;
  /** Owner. */
  uid: number;
  /** Mode bits. */
  mode: number;
  /** Inode. */
  ino: number;
}

/** A connection, as far as the notifier uses it. */
export interface NotifierConn extends ByteReader, ByteWriter {
  /**
   * Who listens on the other end (`SO_PEERCRED`): the notifier talks only to a peer
   * that runs as the socket's expected owner. Undefined when unknown: refused.
   */
  readonly peer?: { pid: number; uid: number };
  /** Close it. */
  close(): void;
}

/** The notifier's side effects, injected so its logic is testable without a kernel. */
export interface NotifierIo {
  /** `lstat(path)`, or `undefined` when it does not exist. */
  lstat(path: string): Promise<FileFacts | undefined>;
  /** Connect to a unix socket. */
  connect(path: string): Promise<NotifierConn>;
  /** Home directory of `uid` (from the password database). */
  homeOf(uid: number): Promise<string | undefined>;
  /**
   * Take one of the `cap` slots of crashes of `uid` held at once (across notifier
   * processes, under the root daemon's `runDir`); resolves to the function that frees
   * it, or `undefined` when none is free (then the crash is not held).
   */
  holdSlot(runDir: string, uid: number, cap: number): Promise<(() => void) | undefined>;
  /**
   * Release the dump: close the core pipe, or keep the core; resolves to what happened
   * to the core when it was kept (or not kept for a reason worth recording).
   */
  releaseCore(): void | Promise<CoreFate | undefined>;
  /**
   * Release the dump at once, keeping and forwarding nothing: for a crash past its uid's
   * share of held crashes. Without it, {@linkcode NotifierIo.releaseCore} is used.
   */
  dropCore?(): void;
}
