/**
 * What becomes of a crash's core under `install --core-dir=DIR`, and the crash's core
 * size limit (`ulimit -c`, RLIMIT_CORE): one sentence, said by `install` and `status`.
 *
 * The kernel expands `%c` to the crash's RLIMIT_CORE and then pipes the whole core to a
 * `|program` pattern whatever that limit (except 1). With `--core-limit=honour` (the
 * default) the notifier keeps no core of a process whose limit is 0 (the default of most
 * shells and services) and cuts one at its limit; with `--core-limit=ignore` it keeps
 * every core, as systemd-coredump does: its sysctl.d/50-coredump.conf passes the number
 * 9223372036854775808 where `%c` would be.
 *
 * @module
 */
import { stripNewline } from "./pattern.ts";

/** How `--core-dir` treats the crash's `ulimit -c`. */
export type CoreLimitPolicy = "honour" | "ignore";

/** The default of `install --core-limit`: lttng-trig's behaviour before the option. */
export const DEFAULT_CORE_LIMIT: CoreLimitPolicy = "honour";

/** Where a notifier pattern keeps cores, and how, or `undefined` when it keeps none. */
export interface CoreKeeping {
  /** `--core-dir=DIR`. */
  dir: string;
  /** `--core-limit=`, or the default. */
  limit: CoreLimitPolicy;
}

/**
 * The `--core-dir` and `--core-limit` of a core_pattern that runs the notifier.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coreKeepingOf } from "./core_limit.ts";
 *
 * assert.deepEqual(
 *   coreKeepingOf("|/usr/bin/lttng-trig notify --core-dir=/var/crash --facts=%c %p %u %g %e %h"),
 *   { dir: "/var/crash", limit: "honour" },
 * );
 * assert.equal(coreKeepingOf("|/usr/bin/lttng-trig notify %p %u %g %e %h"), undefined);
 * ```
 */
export function coreKeepingOf(pattern: string): CoreKeeping | undefined {
  const text = stripNewline(pattern);
  if (!text.startsWith("|")) return undefined;
  let dir: string | undefined;
  let limit: CoreLimitPolicy = DEFAULT_CORE_LIMIT;
  // Only leading --name=value words are the notifier's options.
  for (const word of text.slice(1).trim().split(/\s+/).slice(2)) {
    if (!word.startsWith("--") || word.startsWith("--facts=")) break;
    if (word.startsWith("--core-dir=")) dir = word.slice("--core-dir=".length);
    if (word === "--core-limit=ignore") limit = "ignore";
  }
  return dir === undefined ? undefined : { dir, limit };
}

/** What happens to cores under `keeping`: one sentence for install and status. */
export function coreKeepingText(keeping: CoreKeeping): string {
  return keeping.limit === "ignore"
    ? `every crash's core is kept in ${keeping.dir} whatever its ulimit -c, as systemd-coredump keeps them (--core-limit=ignore)`
    : `a crash's core is kept in ${keeping.dir} only when its ulimit -c is not 0, and cut at that limit (--core-limit=honour): most shells and services start with ulimit -c 0, so set 'ulimit -c unlimited' (LimitCORE=infinity for a service), or install with --core-limit=ignore to keep every core as systemd-coredump does`;
}
