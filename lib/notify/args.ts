/**
 * The notifier's command line, as the kernel gives it from core_pattern:
 * `notify [--OPTION=VALUE...] %p %u %g %e %h` (the options include `--tid=%i` and, last,
 * `--facts=%P:%s:%t:%c:%d:%E`).
 *
 * Only leading `--name=value` words are options (a pid never starts with `--`), each
 * known name at most once, and none after `--facts=`: that one carries the kernel's
 * `%E`, which kernels before 5.3 split on spaces, so a word after it is kernel data
 * (a path such as `/tmp/x --timeout=60000`), never an option. The five positional
 * values are taken as they are and never parsed as flags, so an exec name like `--help`
 * or `a b` stays data.
 *
 * @module
 */
import type { OnAnyCoreDumpExtMessage } from "../wire/notify_ext.ts";
import { kernelVersion } from "../core/kernel_version.ts";

/**
 * The facts `--facts=%P:%s:%t:%c:%d[:%F][:%E]` carries, as the extended notification
 * sends them; each may be missing.
 */
export type KernelFacts = Pick<
  OnAnyCoreDumpExtMessage,
  "globalPid" | "signal" | "time" | "coreLimit" | "dumpMode" | "exe" | "identity"
>;

/**
 * The fields of `--facts=`: `%F` (Linux 6.16+: the number of the pidfd the kernel gave,
 * always 3; empty from a kernel without it) stands before `%E` when present. `%E` always
 * starts with "!" (an absolute path, "/" written "!"), `%F` never does: a sixth field of
 * digits, or empty, followed by a seventh, is `%F`.
 */
function factsFields(value: string): { parts: string[]; pidfd?: string; exe: string } {
  const parts = value.split(":");
  // %E comes last: a path may contain ":".
  if (parts.length >= 7 && /^\d*$/.test(parts[5])) {
    return { parts, pidfd: parts[5], exe: parts.slice(6).join(":") };
  }
  return { parts, exe: parts.slice(5).join(":") };
}

/** The pidfd `--facts=` names (`%F`), or undefined when it names none. */
export function kernelPidfd(value: string): number | undefined {
  const f = factsFields(value).pidfd;
  return f === undefined || f === "" ? undefined : u32(f);
}

/** Parse the value of `--facts=`; unparsable fields are left out. */
export function parseKernelFacts(value: string): KernelFacts {
  const { parts, exe: e } = factsFields(value);
  const [p, s, t, c, d] = parts;
  const facts: KernelFacts = {};
  const set = <K extends keyof KernelFacts>(key: K, v: KernelFacts[K] | undefined) => {
    if (v !== undefined) facts[key] = v;
  };
  set("globalPid", u32(p));
  set("signal", u32(s));
  set("time", t !== undefined && /^\d{1,15}$/.test(t) ? Number(t) : undefined);
  // RLIM_INFINITY prints as 18446744073709551615.
  set(
    "coreLimit",
    c === "18446744073709551615"
      ? "unlimited"
      : c !== undefined && /^\d{1,15}$/.test(c)
      ? Number(c)
      : undefined,
  );
  set("dumpMode", u32(d));
  // %E writes every "/" as "!" (a path that really holds "!" comes back with "/" there).
  set("exe", e.startsWith("!") ? e.replaceAll("!", "/") : undefined);
  return facts;
}

/** The parsed notifier arguments. */
export interface NotifyArgs {
  /** `%p`; 0 when empty or not a number. */
  pid: number;
  /** `%u`; undefined when empty or not a number. */
  uid: number | undefined;
  /** `%g`; 0 when empty or not a number. */
  gid: number;
  /** `%e`. */
  execName: string;
  /** `%h`. */
  hostname: string;
  /** `--run-dir=DIR`: the root daemon's run directory. */
  runDir?: string;
  /** `--state-dir=DIR`: where failures are journaled. */
  stateDir?: string;
  /** `--timeout=MS`: how long to hold the dump waiting for replies. */
  timeoutMs?: number;
  /** `--facts=%P:%s:%t:%c:%d[:%F][:%E]`: the kernel's richer facts. */
  facts?: KernelFacts;
  /** `%F` in `--facts=`: the fd of the kernel's pidfd of the crashed process (3). */
  pidfd?: number;
  /** `--core-dir=DIR`: keep the core there (zstd), instead of discarding it. */
  coreDir?: string;
  /**
   * `--core-limit=ignore`: keep the core whatever the crash's `ulimit -c` (`%c`), as
   * systemd-coredump does; `honour` (the default) keeps none under `ulimit -c 0`.
   */
  coreLimit?: "honour" | "ignore";
  /** `--tid=%i`: the crashing thread's tid, in the crashed process's pid namespace. */
  tid?: number;
  /**
   * The kernel split its fields (before Linux 5.3) so that `%p %u %g` cannot be told
   * from `%E`'s words: the uid is left unknown.
   */
  ambiguous?: boolean;
  /** Problems with the arguments, journaled but never fatal. */
  warnings: string[];
}

const OPTION_RE = /^--([a-z][a-z-]*)=(.*)$/s;

function isCoreLimit(value: string): value is "honour" | "ignore" {
  return value === "honour" || value === "ignore";
}

function u32(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffff_ffff ? n : undefined;
}

/**
 * Parse the words after `notify`. `splitsExecName` says (or is asked, only when there
 * are more than five words) whether the kernel splits `%e` on spaces (before Linux 5.3):
 * then everything between `%g` and the last word is the exec name; otherwise words after
 * `%h` are ignored.
 */
export function parseNotifyArgs(
  words: string[],
  splitsExecName: boolean | (() => boolean),
): NotifyArgs {
  const warnings: string[] = [];
  const out: Partial<NotifyArgs> = {};
  const splits = () => typeof splitsExecName === "function" ? splitsExecName() : splitsExecName;
  const seen = new Set<string>();
  let i = 0;
  let factsValue: string | undefined;
  for (; i < words.length; i++) {
    const m = OPTION_RE.exec(words[i]);
    if (m === null) break;
    const [, name, value] = m;
    if (seen.has(name)) {
      warnings.push(`ignored repeated option --${name}`);
      continue;
    }
    seen.add(name);
    if (name === "facts") {
      // The last option: what follows is the kernel's.
      factsValue = value;
      i++;
      break;
    }
    if (name === "run-dir" && value.startsWith("/")) out.runDir = value;
    else if (name === "state-dir" && value.startsWith("/")) out.stateDir = value;
    else if (name === "timeout" && u32(value) !== undefined) out.timeoutMs = u32(value);
    else if (name === "core-dir" && value.startsWith("/")) out.coreDir = value;
    else if (name === "tid" && u32(value) !== undefined) out.tid = u32(value);
    else if (name === "core-limit" && isCoreLimit(value)) out.coreLimit = value;
    else if (name === "chain" || name.startsWith("chain-")) continue; // lib/notify/chain.ts
    else warnings.push(`ignored option --${name}`);
  }
  const pos = words.slice(i);
  if (factsValue !== undefined) {
    out.facts = parseKernelFacts(factsValue);
    const pidfd = kernelPidfd(factsValue);
    if (pidfd !== undefined) out.pidfd = pidfd;
    if (out.facts.exe !== undefined && pos.length > 5 && splits()) {
      // An old kernel split %E or %e or %h: which words are %p %u %g cannot be known (a
      // path can hold digits and spaces). Trust no uid rather than a forged one.
      warnings.push("ambiguous split of the kernel's fields: uid and executable path dropped");
      delete out.facts.exe;
      out.ambiguous = true;
    }
  }
  if (pos.length < 5) {
    warnings.push(`expected %p %u %g %e %h, got ${pos.length} argument(s)`);
  }
  let execName = pos[3] ?? "";
  let hostname = pos[4] ?? "";
  if (pos.length > 5 && splits()) {
    execName = pos.slice(3, -1).join(" ");
    hostname = pos[pos.length - 1];
  } else if (pos.length > 5) {
    warnings.push(`ignored ${pos.length - 5} extra argument(s)`);
  }
  const pid = u32(pos[0]);
  const uid = out.ambiguous ? undefined : u32(pos[1]);
  const gid = u32(pos[2]);
  if (pid === undefined) warnings.push(`bad pid ${JSON.stringify(pos[0] ?? "")}`);
  if (uid === undefined && !out.ambiguous) {
    warnings.push(`bad uid ${JSON.stringify(pos[1] ?? "")}`);
  }
  return {
    ...out,
    pid: pid ?? 0,
    uid,
    gid: gid ?? 0,
    execName,
    hostname,
    warnings,
  };
}

/** Does a kernel of release `release` (e.g. "5.2.0") split `%e` on spaces? */
export function kernelSplitsExecName(release: string): boolean {
  const v = kernelVersion(release);
  return v !== undefined && (v[0] < 5 || (v[0] === 5 && v[1] < 3));
}
