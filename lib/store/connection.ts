/**
 * The store's connection to its SQLite file: the statement cache, the write transaction
 * every change runs in (`BEGIN IMMEDIATE`, and `synchronous=FULL` for what a client is told
 * of), compaction, and closing. What the rows mean is the tables' (triggers.ts,
 * crashes.ts); the store (trigger_store.ts) puts them together.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { errText, StoreError } from "./schema.ts";
import { TriggerExistsError } from "./triggers.ts";

/** An open store database; closing it is idempotent. */
export class StoreConnection {
  #db: DatabaseSync;
  #path: string;
  #stmts: Record<string, StatementSync> = {};
  #closed = false;

  /** Wrap `db`, opened from the file `path` (which errors name). */
  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /** The database file. */
  get path(): string {
    return this.#path;
  }

  /** Throw a {@linkcode StoreError} when the connection is closed. */
  assertOpen(): void {
    if (this.#closed) throw new StoreError(this.#path, "The state store is closed");
  }

  /** The prepared statement for `sql`, prepared once and cached. */
  prepare(sql: string): StatementSync {
    this.assertOpen();
    let s = this.#stmts[sql];
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#stmts[sql] = s;
    }
    return s;
  }

  /**
   * Run `fn` in one write transaction, `durable` ones with `synchronous=FULL` (on disk
   * before this returns). A failure rolls it back and becomes a {@linkcode StoreError}
   * that says what could not be done (`what`: `save the trigger`), but for a
   * {@linkcode TriggerExistsError} or a StoreError, thrown as they are.
   */
  write<T>(what: string, fn: () => T, durable = false): T {
    this.assertOpen();
    if (durable) this.#db.exec("PRAGMA synchronous = FULL");
    try {
      return this.#transaction(what, fn);
    } finally {
      if (durable) this.#db.exec("PRAGMA synchronous = NORMAL");
    }
  }

  #transaction<T>(what: string, fn: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      throw new StoreError(this.#path, `Cannot ${what}: ${errText(err)}`, { cause: err });
    }
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the transaction may already be gone */ }
      if (err instanceof TriggerExistsError || err instanceof StoreError) throw err;
      throw new StoreError(
        this.#path,
        `Cannot ${what}: ${
          errText(err)
        } (state store ${this.#path}): check free space and permissions`,
        { cause: err },
      );
    }
  }

  /**
   * Compact the file (`VACUUM`) when it is mostly free pages. VACUUM rewrites the whole
   * file: only when more than a quarter of it (and 1 MiB) is free, which happens only when
   * a limit was lowered; freed pages are reused otherwise.
   */
  compactIfSparse(): void {
    const pages = this.#db.prepare("PRAGMA page_count").get() as { page_count: number };
    const free = this.#db.prepare("PRAGMA freelist_count").get() as { freelist_count: number };
    const size = this.#db.prepare("PRAGMA page_size").get() as { page_size: number };
    if (free.freelist_count * 4 <= pages.page_count) return;
    if (free.freelist_count * size.page_size < 1 << 20) return;
    try {
      this.#db.exec("VACUUM");
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch { /* a full disk cannot compact: the free pages are still reused */ }
  }

  /** Close the database; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stmts = {};
    this.#db.close();
  }
}
