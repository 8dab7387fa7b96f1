/**
 * Snapshot and stop through liblttng-ctl (Deno FFI), where the library is present: the
 * same calls the `lttng` command makes, without starting a process while the crashed
 * process is held. The `lttng` command stays the fallback: a call that fails is made
 * again through the command, which says why in LTTng's own words (reading the library's
 * error string would need pointer access, which Deno grants only with an unscoped
 * `--allow-ffi`), and the command takes over for good after a call that does not finish
 * in time (liblttng-ctl keeps one global connection to the session daemon, so calls are
 * made one at a time, and a call stuck in a thread of its own would make the next one
 * unsafe).
 *
 * @module
 */
import type { SnapshotAction } from "../core/trigger.ts";
import { cString, dlopenFirst } from "../sys/ffi.ts";

/** Where liblttng-ctl is, on the supported hosts (the `ffi` permission lists the same). */
export const LIBLTTNG_CTL_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/liblttng-ctl.so.0",
  "/usr/lib/aarch64-linux-gnu/liblttng-ctl.so.0",
];

const SYMBOLS = {
  lttng_snapshot_output_create: { parameters: [], result: "pointer" },
  lttng_snapshot_output_destroy: { parameters: ["pointer"], result: "void" },
  lttng_snapshot_output_set_name: { parameters: ["buffer", "pointer"], result: "i32" },
  lttng_snapshot_output_set_size: { parameters: ["u64", "pointer"], result: "i32" },
  lttng_snapshot_output_set_ctrl_url: { parameters: ["buffer", "pointer"], result: "i32" },
  lttng_snapshot_output_set_data_url: { parameters: ["buffer", "pointer"], result: "i32" },
  lttng_snapshot_record: {
    parameters: ["buffer", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  lttng_stop_tracing_no_wait: { parameters: ["buffer"], result: "i32", nonblocking: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A call failed with an LTTng error code, or did not finish in time. */
export class LttngCtlError extends Error {
  /** The negative `LTTNG_ERR_*` code, when the call returned one. */
  readonly code?: number;
  /** Build the error. */
  constructor(message: string, code?: number) {
    super(message);
    this.name = "LttngCtlError";
    this.code = code;
  }
}

/** liblttng-ctl, opened once. */
export class LttngCtlLibrary {
  #lib: Lib;
  #timeoutMs: number;
  #chain: Promise<unknown> = Promise.resolve();
  #poisoned?: string;

  private constructor(lib: Lib, timeoutMs: number) {
    this.#lib = lib;
    this.#timeoutMs = timeoutMs;
  }

  /** Open liblttng-ctl, or resolve to why it cannot be used. */
  static open(timeoutMs: number): LttngCtlLibrary | string {
    const lib = dlopenFirst("liblttng-ctl", LIBLTTNG_CTL_PATHS, SYMBOLS);
    return typeof lib === "string" ? lib : new LttngCtlLibrary(lib, timeoutMs);
  }

  /** Why the library is no longer used, once a call did not finish in time. */
  get poisoned(): string | undefined {
    return this.#poisoned;
  }

  #fail(what: string, code: number): never {
    throw new LttngCtlError(`liblttng-ctl ${what} failed with LTTng error ${code}`, code);
  }

  /** Run `call` after the calls before it, within the deadline. */
  #serial<T>(what: string, call: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(async () => {
      if (this.#poisoned !== undefined) throw new LttngCtlError(this.#poisoned);
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        return await Promise.race([
          call(),
          new Promise<never>((_, reject) =>
            timer = setTimeout(() => {
              this.#poisoned =
                `liblttng-ctl did not finish ${what} within ${this.#timeoutMs} ms: the lttng command is used from now on`;
              reject(new LttngCtlError(this.#poisoned));
            }, this.#timeoutMs)
          ),
        ]);
      } finally {
        clearTimeout(timer);
      }
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  /** `lttng_snapshot_record()` with an output built as `lttng snapshot record` builds it. */
  snapshot(session: string, name: string, action: SnapshotAction): Promise<void> {
    return this.#serial("a snapshot", async () => {
      const s = this.#lib.symbols;
      const output = s.lttng_snapshot_output_create();
      if (output === null) throw new LttngCtlError("cannot allocate a snapshot output");
      // Kept alive until the nonblocking call has returned.
      const args: Uint8Array<ArrayBuffer>[] = [];
      const str = (v: string) => {
        const b = cString(v);
        args.push(b);
        return b;
      };
      try {
        const check = (ret: number) => {
          if (ret < 0) this.#fail("snapshot", ret);
        };
        const url = action.url ?? (action.path === undefined ? undefined : `file://${action.path}`);
        if (url !== undefined) {
          check(s.lttng_snapshot_output_set_ctrl_url(str(url), output));
          check(s.lttng_snapshot_output_set_data_url(str(url), output));
        } else if (action.ctrlUrl !== undefined && action.dataUrl !== undefined) {
          check(s.lttng_snapshot_output_set_ctrl_url(str(action.ctrlUrl), output));
          check(s.lttng_snapshot_output_set_data_url(str(action.dataUrl), output));
        }
        if (action.maxSize !== undefined) {
          check(s.lttng_snapshot_output_set_size(BigInt(action.maxSize), output));
        }
        check(s.lttng_snapshot_output_set_name(str(name), output));
        check(await s.lttng_snapshot_record(str(session), output, 0));
      } finally {
        s.lttng_snapshot_output_destroy(output);
      }
    });
  }

  /** `lttng_stop_tracing_no_wait()`. */
  stop(session: string): Promise<void> {
    return this.#serial("a stop", async () => {
      const name = cString(session);
      const ret = await this.#lib.symbols.lttng_stop_tracing_no_wait(name);
      if (ret < 0) this.#fail("stop", ret);
    });
  }

  /** Close the library (only once no call is running). */
  async close(): Promise<void> {
    await this.#chain;
    if (this.#poisoned === undefined) this.#lib.close();
  }
}
