/**
 * Triggers: what they match and what they do. Pure data and pure functions, shared by
 * the CLI, the daemon and the store. Checking a spec is in trigger_validate.ts, matching a
 * crash in trigger_match.ts.
 *
 * @module
 */
import { safeExecName } from "./paths.ts";
import { formatDuration } from "./duration.ts";
import type { CrashFacts } from "./crash_facts.ts";

/**
 * The one condition type: any process dumped core (the RFC's `OnAnyCoreDump`).
 *
 * @example
 * ```ts
 * import { ON_ANY_CORE_DUMP, type TriggerCondition } from "./trigger.ts";
 * const anyCrash: TriggerCondition = { type: ON_ANY_CORE_DUMP };
 * ```
 */
export const ON_ANY_CORE_DUMP = "OnAnyCoreDump";

/**
 * What a trigger waits for, with the optional filters that narrow it.
 *
 * @example
 * ```ts
 * import type { TriggerCondition } from "./trigger.ts";
 * // An nginx worker of uid 33 killed by SIGSEGV (11) or SIGABRT (6).
 * const condition: TriggerCondition = {
 *   type: "OnAnyCoreDump",
 *   exec: "nginx*",
 *   uids: [33],
 *   signals: [11, 6],
 * };
 * ```
 */
export interface TriggerCondition {
  /** Always {@linkcode ON_ANY_CORE_DUMP}. */
  type: typeof ON_ANY_CORE_DUMP;
  /**
   * Glob on the exec name (the comm, which any process can set), or, when the glob holds
   * a `/`, on the executable's path as the kernel reports it (never on the comm); see
   * `isPathGlob()` in trigger_match.ts.
   */
  exec?: string;
  /** The crash's uid must be one of these. */
  uids?: number[];
  /** The crash's signal must be one of these (where the signal is known). */
  signals?: number[];
}

/**
 * Take a snapshot of the session (`lttng snapshot record`).
 *
 * @example
 * ```ts
 * import type { SnapshotAction } from "./trigger.ts";
 * // At most 64 MiB, sent to an lttng-relayd; keep the 10 newest.
 * const action: SnapshotAction = {
 *   type: "snapshot",
 *   maxSize: 64 * 1024 * 1024,
 *   url: "net://relayd.example",
 *   maxSnapshots: 10,
 * };
 * ```
 */
export interface SnapshotAction {
  /** Action kind. */
  type: "snapshot";
  /** `--max-size` in bytes. */
  maxSize?: number;
  /** Local directory for the snapshot instead of the session's snapshot output. */
  path?: string;
  /** Output URL (`file://`, `net://`, `net6://`, `tcp://`...). */
  url?: string;
  /** Control URL; always with {@linkcode SnapshotAction.dataUrl}. */
  ctrlUrl?: string;
  /** Data URL; always with {@linkcode SnapshotAction.ctrlUrl}. */
  dataUrl?: string;
  /** `--max-snapshots`: keep this trigger's N newest local snapshots, remove the older. */
  maxSnapshots?: number;
  /** `--max-age`: remove this trigger's local snapshots older than this, in ms. */
  maxAgeMs?: number;
}

/**
 * Stop the session (`lttng stop`).
 *
 * @example
 * ```ts
 * import type { StopAction } from "./trigger.ts";
 * const action: StopAction = { type: "stop" };
 * ```
 */
export interface StopAction {
  /** Action kind. */
  type: "stop";
}

/**
 * What a trigger does when it fires.
 *
 * @example
 * ```ts
 * import type { TriggerAction } from "./trigger.ts";
 * const verb = (a: TriggerAction) => a.type === "snapshot" ? "lttng snapshot record" : "lttng stop";
 * ```
 */
export type TriggerAction = SnapshotAction | StopAction;

/**
 * LTTng's rate policies: fire every Nth time, or once at the Nth time.
 *
 * @example
 * ```ts
 * import type { RatePolicy } from "./trigger.ts";
 * const onThirdCrash: RatePolicy = { kind: "once-after", count: 3 }; // once-after:3
 * ```
 */
export interface RatePolicy {
  /** `every` or `once-after`. */
  kind: "every" | "once-after";
  /** N, at least 1. */
  count: number;
}

/**
 * What a client asks for when it sets a trigger.
 *
 * @example
 * ```ts
 * import type { TriggerSpec } from "./trigger.ts";
 * // `lttng-trig set -s web -n web-crash --exec='nginx*' --rate-policy=every:1 OnAnyCoreDump snapshot`
 * const spec: TriggerSpec = {
 *   name: "web-crash",
 *   session: "web",
 *   condition: { type: "OnAnyCoreDump", exec: "nginx*" },
 *   action: { type: "snapshot" },
 *   ratePolicy: { kind: "every", count: 1 },
 * };
 * ```
 */
export interface TriggerSpec {
  /** Unique name per owner; generated when absent. */
  name?: string;
  /** The LTTng session the action applies to. */
  session: string;
  /** When it fires. */
  condition: TriggerCondition;
  /** What it does. */
  action: TriggerAction;
  /** Rate policy; default `every:1`. */
  ratePolicy?: RatePolicy;
  /**
   * At most one action per (crashing uid, exec name) within this many milliseconds
   * (`--cooldown`).
   */
  cooldownMs?: number;
  /** At most this many actions on one uid's crashes in any 24 hours (`--max-per-day`). */
  maxPerDay?: number;
}

/**
 * A stored trigger: the spec, its name, its owner and its counters.
 *
 * @example
 * ```ts
 * import type { Trigger } from "./trigger.ts";
 * const line = (t: Trigger) => `${t.name} on ${t.session}: seen ${t.hits}, fired ${t.fired}`;
 * ```
 */
export interface Trigger extends TriggerSpec {
  /** The trigger's name. */
  name: string;
  /** Uid of the daemon that owns it. */
  owner: number;
  /** When it was set (ISO 8601). */
  createdAt: string;
  /**
   * How many matching crashes it has seen, of every uid (the rate policy counts per uid:
   * see `FiringLog.hitsOf` in lib/core/policy.ts).
   */
  hits: number;
  /** How many times its action ran, for every uid. */
  fired: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Is `name` a valid trigger name (a letter or digit, then letters, digits, `._-`)? */
export function isValidTriggerName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Parse the WHAT argument (case-insensitive `OnAnyCoreDump`). */
export function parseCondition(what: string): typeof ON_ANY_CORE_DUMP | undefined {
  return what.toLowerCase() === ON_ANY_CORE_DUMP.toLowerCase() ? ON_ANY_CORE_DUMP : undefined;
}

/** Parse `every:N` or `once-after:N`; throws `RangeError`/`SyntaxError` with the form. */
export function parseRatePolicy(text: string): RatePolicy {
  const m = /^(every|once-after):(\d+)$/.exec(text);
  if (m === null) {
    throw new SyntaxError(
      `Invalid rate policy "${text}": expected every:N or once-after:N (N at least 1)`,
    );
  }
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Invalid rate policy "${text}": N must be at least 1`);
  }
  return { kind: m[1] as RatePolicy["kind"], count };
}

/** Render a rate policy the way it is written on the command line. */
export function formatRatePolicy(policy: RatePolicy | undefined): string {
  const p = policy ?? { kind: "every", count: 1 };
  return `${p.kind}:${p.count}`;
}

/**
 * The identity of a trigger: two triggers with the same session, condition, action and
 * rate policy are the same trigger, whatever their names.
 */
export function triggerIdentity(spec: TriggerSpec): string {
  return JSON.stringify([
    spec.session,
    canonical(spec.condition),
    canonical(spec.action),
    formatRatePolicy(spec.ratePolicy),
    spec.cooldownMs ?? null,
    spec.maxPerDay ?? null,
  ]);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/** One line describing the condition, as `list` shows it. */
export function describeCondition(c: TriggerCondition): string {
  const parts: string[] = [c.type];
  if (c.exec !== undefined) parts.push(`exec=${c.exec}`);
  if (c.uids !== undefined) parts.push(`uid=${c.uids.join(",")}`);
  if (c.signals !== undefined) parts.push(`signal=${c.signals.join(",")}`);
  return parts.join(" ");
}

/** One line describing the action, as `list` shows it. */
export function describeAction(a: TriggerAction): string {
  if (a.type === "stop") return "stop";
  const parts = ["snapshot"];
  if (a.maxSize !== undefined) parts.push(`max-size=${a.maxSize}`);
  if (a.path !== undefined) parts.push(`path=${a.path}`);
  if (a.url !== undefined) parts.push(`url=${a.url}`);
  if (a.ctrlUrl !== undefined) parts.push(`ctrl-url=${a.ctrlUrl} data-url=${a.dataUrl}`);
  if (a.maxSnapshots !== undefined) parts.push(`max-snapshots=${a.maxSnapshots}`);
  if (a.maxAgeMs !== undefined) parts.push(`max-age=${formatDuration(a.maxAgeMs)}`);
  return parts.join(" ");
}

/**
 * The snapshot name for a crash: `core-<exec>-<pid>`, with every character that is not
 * safe in a directory name replaced by `_` and the exec part capped, so that LTTng's
 * `<name>-<date>-<time>-<n>` directory stays well under NAME_MAX.
 */
export function snapshotNameFor(crash: Pick<CrashFacts, "execName" | "pid">): string {
  return `core-${safeExecName(crash.execName)}-${crash.pid}`;
}
