/**
 * The store's SQLite schema and how a file becomes a store: opened, checked, migrated and
 * put in WAL mode. A file that is not a healthy lttng-trig store is refused, untouched.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/**
 * The schema version this lttng-trig writes and reads. A store of an older version is
 * brought up to it by {@linkcode MIGRATIONS}, in one transaction; a newer one is refused.
 */
export const SCHEMA_VERSION = 3;

/**
 * What brings a store from version `N - 1` to version `N`, by `N`. Each runs in the
 * transaction that sets the new version, so a store is never half-migrated.
 */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  // 2: the rate policy, cooldown and daily maximum count per (trigger, crashing uid), so
  // that no user can spend root's limits (issue #15). A schema 1 trigger's hits and
  // firings were shared: they are kept as counting for every uid (trigger_hits uid -1,
  // firings uid -1), so that no trigger acts more after the upgrade than before it.
  2: `
      CREATE TABLE trigger_hits (
        trigger TEXT NOT NULL,
        uid INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (trigger, uid)
      ) WITHOUT ROWID;
      INSERT INTO trigger_hits (trigger, uid, hits)
        SELECT name, -1, hits FROM triggers WHERE hits > 0;
      ALTER TABLE firings ADD COLUMN uid INTEGER NOT NULL DEFAULT -1;
      CREATE INDEX firings_trigger_uid ON firings (trigger, uid, time);
    `,
  // 3: what a crash led to after its release, each a JSON document like `core`: the chained
  // crash handler's run (install --chain, issue #13) and the crash report (backtrace,
  // issue #14).
  3: `
      ALTER TABLE crashes ADD COLUMN chain TEXT;
      ALTER TABLE crashes ADD COLUMN report TEXT;
    `,
};

/** The store cannot be opened or written. */
export class StoreError extends Error {
  /** The database file. */
  readonly path: string;
  /** Build a store error. */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.path = path;
  }
}

/**
 * Open (or create) the database at `path`, check it and bring its schema up to date. A
 * file that is not a healthy lttng-trig store is refused with a {@linkcode StoreError}
 * that names it: never silently replaced.
 */
export function openStoreDatabase(path: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (err) {
    throw new StoreError(
      path,
      `Cannot open the state store ${path}: ${
        errText(err)
      }: check the state directory's permissions`,
      { cause: err },
    );
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    if (check.length !== 1 || check[0].quick_check !== "ok") {
      throw new Error(check.map((r) => r.quick_check).join("; "));
    }
    // Checks before any write (WAL is persistent): a foreign file is refused untouched.
    migrate(db, path);
    // The history names other users' crashes and commands: root's alone (SQLite creates
    // the file under the umask, and its -wal and -shm files with the file's own mode).
    restrictToOwner(path);
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL in WAL mode: a commit survives the daemon being killed (SIGKILL), which is
    // what the crash history needs at thousands of crashes a second; trigger changes,
    // which a user was told about, are committed FULL (fsync'd) as well.
    db.exec("PRAGMA synchronous = NORMAL");
    return db;
  } catch (err) {
    try {
      db.close();
    } catch { /* already failing */ }
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      path,
      `The state store ${path} is unreadable or corrupt (${
        errText(err)
      }): move it aside to start with no triggers, or restore it from a backup`,
      { cause: err },
    );
  }
}

function restrictToOwner(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      Deno.chmodSync(file, 0o600);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const hasMeta = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
  ).get() !== undefined;
  const row = hasMeta
    ? db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
      | { value: string }
      | undefined
    : undefined;
  const version = row === undefined ? undefined : Number(row.value);
  if (
    version !== undefined &&
    (!Number.isSafeInteger(version) || version < 1 || version > SCHEMA_VERSION)
  ) {
    throw new StoreError(
      path,
      `The state store ${path} has schema version ${row?.value}, this lttng-trig knows ${SCHEMA_VERSION}: use the matching lttng-trig version`,
    );
  }
  const tables = db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'sqlite_sequence')",
  ).all() as { name: string }[];
  if (row === undefined && tables.length > 0) {
    throw new StoreError(
      path,
      `The file ${path} is an SQLite database but not an lttng-trig store: pass another --state-dir`,
    );
  }
  if (version === undefined) {
    // Schema 1, then the migrations, as an old store would go: one path for both.
    // The text is kept byte for byte: SQLite stores each CREATE statement as written.
    db.exec(`
      BEGIN;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS triggers (
        name TEXT PRIMARY KEY,
        identity TEXT NOT NULL UNIQUE,
        owner INTEGER NOT NULL,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0,
        fired INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS crashes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        pid INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        gid INTEGER NOT NULL,
        exec TEXT NOT NULL,
        hostname TEXT NOT NULL,
        facts TEXT NOT NULL,
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        results TEXT NOT NULL,
        detail TEXT,
        core TEXT
      );
      CREATE INDEX IF NOT EXISTS crashes_pid ON crashes (pid);
      CREATE TABLE IF NOT EXISTS firings (
        trigger TEXT NOT NULL,
        exec TEXT NOT NULL,
        time INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS firings_trigger ON firings (trigger, time);
      INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
      COMMIT;
    `);
  }
  for (let v = (version ?? 1) + 1; v <= SCHEMA_VERSION; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v]);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(String(v));
      db.exec("COMMIT");
    } catch (err) {
      try {
        db.exec("ROLLBACK");
      } catch { /* already rolled back */ }
      throw new StoreError(
        path,
        `Cannot bring the state store ${path} from schema version ${v - 1} to ${v}: ${
          errText(err)
        }: check free space and permissions, the store is unchanged`,
        { cause: err },
      );
    }
  }
}

/** An error's message, whatever was thrown. */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
