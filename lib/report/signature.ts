/**
 * A crash's signature: one short string that two crashes at one site share, on any host
 * and under any address layout, as apport's crash_signature and ABRT's duphash do. It is
 * computed from the crashing thread's innermost named frames (module and function name,
 * never an address or an offset, which ASLR and rebuilds move); a crash with no named
 * frame (no report, a stripped program) is signed by its signal and executable instead.
 *
 * The signature is the first 16 bytes of the SHA-256 of a canonical text, in hex: short
 * enough for a journal field and a table column, with no crash string in it to escape.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Frame } from "../protocol/records.ts";
import { signalName } from "../core/signals.ts";

/** Named frames a signature is made of, at most. */
export const SIGNATURE_FRAMES = 3;

/**
 * Functions that say how the process died rather than where: the libc path from
 * `abort()`, `assert()` and the fortify checks to the signal. Every abort shares them,
 * so they are skipped, as ABRT skips its "exit frames".
 */
const DYING_FUNCTIONS = new Set([
  "__pthread_kill_implementation",
  "__pthread_kill_internal",
  "__GI___pthread_kill",
  "pthread_kill",
  "__pthread_kill",
  "raise",
  "__GI_raise",
  "gsignal",
  "abort",
  "__GI_abort",
  "__assert_fail",
  "__assert_fail_base",
  "__libc_message",
  "__libc_message_impl",
  "__fortify_fail",
  "__chk_fail",
  "__stack_chk_fail",
  "malloc_printerr",
]);

/** What a signature is computed from: the crash's facts and its crashing thread's frames. */
export interface SignatureInput {
  /** The signal number, when known. */
  signal?: number;
  /** The signal's name (`SIGSEGV`), used in place of the number when given. */
  signalName?: string;
  /** The executable's path, when known. */
  exePath?: string;
  /** The exec name (`%e`), used when the path is not known. */
  execName: string;
  /** The crashing thread's frames, innermost first, when a report is ready. */
  frames?: readonly Frame[];
}

/**
 * The canonical text a signature hashes: `frame "MODULE" "FUNCTION"` lines (JSON strings)
 * for the innermost named frames (at most {@linkcode SIGNATURE_FRAMES}, the libc dying
 * path skipped), or, when no frame is named, `signal NAME` and `exe "PATH"` lines.
 *
 * @example
 * ```ts
 * import { signatureText } from "./signature.ts";
 *
 * signatureText({
 *   execName: "app",
 *   frames: [{ pc: "0x55d0011ad", function: "crash_in_worker", module: "app" }],
 * });
 * // => 'frame "app" "crash_in_worker"\n'
 * ```
 */
export function signatureText(input: SignatureInput): string {
  const named = (input.frames ?? []).filter((f) =>
    f.function !== undefined && f.function !== "" && !DYING_FUNCTIONS.has(f.function)
  ).slice(0, SIGNATURE_FRAMES);
  if (named.length > 0) {
    // A deleted executable's module reads "app (deleted)" in some tools: the same module.
    // Names are JSON strings: a name with a newline or a space cannot forge another frame.
    return named.map((f) =>
      `frame ${JSON.stringify((f.module ?? "?").replace(/ \(deleted\)$/, ""))} ${
        JSON.stringify(f.function)
      }\n`
    ).join("");
  }
  const signal = input.signalName ?? (input.signal === undefined ? "?" : String(input.signal));
  const exe = (input.exePath ?? input.execName).replace(/ \(deleted\)$/, "");
  return `signal ${signal}\nexe ${JSON.stringify(exe)}\n`;
}

/**
 * The signature of a crash: 32 lowercase hex digits, the same for two crashes at one
 * site whatever their addresses.
 *
 * @example
 * ```ts
 * import { crashSignature } from "./signature.ts";
 *
 * const a = crashSignature({
 *   execName: "app",
 *   frames: [{ pc: "0x55d0011ad", function: "f", module: "app", offset: "0x11ad" }],
 * });
 * const b = crashSignature({
 *   execName: "app",
 *   frames: [{ pc: "0x7f3a211ad", function: "f", module: "app", offset: "0x11ad" }],
 * });
 * a === b; // => true
 * a.length; // => 32
 * ```
 */
export function crashSignature(input: SignatureInput): string {
  return createHash("sha256").update(signatureText(input)).digest("hex").slice(0, 32);
}

/** A crash's facts and report, as the store keeps them, for {@linkcode signatureOf}. */
export interface SignedCrash {
  /** The signal number, when known. */
  signal?: number;
  /** The executable's path, when known. */
  exePath?: string;
  /** The exec name. */
  execName: string;
  /** Its report, when a core was kept. */
  report?: {
    state: "pending" | "ready" | "failed";
    crashingTid?: number;
    threads?: readonly { tid: number; frames: readonly Frame[] }[];
  };
}

/**
 * The signature of a crash as the history stores it: from its crashing thread's frames
 * once its report is ready, from its signal and executable when it has no report or the
 * report failed; `undefined` while the report is pending (it would change).
 */
export function signatureOf(crash: SignedCrash): string | undefined {
  const report = crash.report;
  if (report?.state === "pending") return undefined;
  const thread = report?.state === "ready"
    ? report.threads?.find((t) => t.tid === report.crashingTid) ?? report.threads?.[0]
    : undefined;
  return crashSignature({
    execName: crash.execName,
    ...(crash.exePath === undefined ? {} : { exePath: crash.exePath }),
    ...(crash.signal === undefined ? {} : { signalName: signalName(crash.signal) }),
    ...(thread === undefined ? {} : { frames: thread.frames }),
  });
}
