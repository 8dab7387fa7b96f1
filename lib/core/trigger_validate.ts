/**
 * Checking a trigger spec, whoever sent it: the CLI before it sends one, and the daemon on
 * every SET (a client may be anything that speaks the protocol).
 *
 * @module
 */
import { isValidTriggerName, ON_ANY_CORE_DUMP, type SnapshotAction } from "./trigger.ts";

// LTTng limits a session name to 255 bytes (LTTNG_NAME_MAX) and refuses "/".
const SESSION_RE = /^[^/\0\s-][^/\0]{0,254}$/;

/**
 * Check a spec's shape and values; returns the list of problems (empty when valid). Used
 * by the daemon on every SET, whoever the client is.
 */
export function validateTriggerSpec(spec: unknown): string[] {
  const problems: string[] = [];
  if (typeof spec !== "object" || spec === null) return ["the trigger must be an object"];
  const s = spec as Record<string, unknown>;
  if (s.name !== undefined && (typeof s.name !== "string" || !isValidTriggerName(s.name))) {
    problems.push(
      `invalid trigger name ${
        JSON.stringify(s.name)
      }: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  if (typeof s.session !== "string" || !SESSION_RE.test(s.session)) {
    problems.push(`invalid session name ${JSON.stringify(s.session)}`);
  }
  const c = s.condition as Record<string, unknown> | undefined;
  if (typeof c !== "object" || c === null || c.type !== ON_ANY_CORE_DUMP) {
    problems.push(`the condition must be ${ON_ANY_CORE_DUMP}`);
  } else {
    if (c.exec !== undefined && (typeof c.exec !== "string" || c.exec === "")) {
      problems.push("--exec needs a non-empty glob");
    }
    if (c.uids !== undefined && !isIdList(c.uids, 0xffff_fffe)) {
      problems.push("--uid needs a list of uids (0 to 4294967294)");
    }
    if (c.signals !== undefined && !isIdList(c.signals, 64)) {
      problems.push("--signal needs a list of signal numbers (1 to 64)");
    }
  }
  const a = s.action as Record<string, unknown> | undefined;
  if (typeof a !== "object" || a === null || (a.type !== "snapshot" && a.type !== "stop")) {
    problems.push("the action must be snapshot or stop");
  } else if (a.type === "snapshot") {
    problems.push(...validateSnapshotOutput(a as unknown as SnapshotAction));
  } else if (Object.keys(a).length > 1) {
    problems.push("the stop action takes no options");
  }
  if (
    s.cooldownMs !== undefined &&
    (!Number.isSafeInteger(s.cooldownMs) || (s.cooldownMs as number) < 1)
  ) {
    problems.push("--cooldown must be a positive duration (e.g. 30s, 5m, 1h)");
  }
  if (
    s.maxPerDay !== undefined && (!Number.isSafeInteger(s.maxPerDay) || (s.maxPerDay as number) < 1)
  ) {
    problems.push("--max-per-day must be a positive integer");
  }
  if (s.ratePolicy !== undefined) {
    const r = s.ratePolicy as Record<string, unknown>;
    if (
      typeof r !== "object" || r === null || (r.kind !== "every" && r.kind !== "once-after") ||
      !Number.isSafeInteger(r.count) || (r.count as number) < 1
    ) {
      problems.push("--rate-policy must be every:N or once-after:N (N at least 1)");
    }
  }
  return problems;
}

function isIdList(value: unknown, max: number): boolean {
  return Array.isArray(value) && value.length > 0 && value.length <= 64 &&
    value.every((v) => Number.isSafeInteger(v) && v >= 0 && v <= max);
}

/** Problems with a snapshot action's output options (empty when valid). */
export function validateSnapshotOutput(a: SnapshotAction): string[] {
  const problems: string[] = [];
  const outputs = [a.path, a.url, a.ctrlUrl ?? a.dataUrl].filter((v) => v !== undefined);
  if (outputs.length > 1) {
    problems.push("--path, --url and --ctrl-url/--data-url are mutually exclusive: choose one");
  }
  if ((a.ctrlUrl === undefined) !== (a.dataUrl === undefined)) {
    problems.push("--ctrl-url and --data-url go together: give both");
  }
  if (a.maxSize !== undefined && (!Number.isSafeInteger(a.maxSize) || a.maxSize <= 0)) {
    problems.push("--max-size must be a positive size (e.g. 64M)");
  }
  if (
    a.maxSnapshots !== undefined &&
    (!Number.isSafeInteger(a.maxSnapshots) || a.maxSnapshots < 1 || a.maxSnapshots > 1_000_000)
  ) {
    problems.push("--max-snapshots must be a whole number from 1 to 1000000");
  }
  if (a.maxAgeMs !== undefined && (!Number.isSafeInteger(a.maxAgeMs) || a.maxAgeMs < 1000)) {
    problems.push("--max-age must be a duration of at least 1s (e.g. 30d)");
  }
  if (a.path !== undefined && (typeof a.path !== "string" || !a.path.startsWith("/"))) {
    problems.push("--path must be an absolute directory path");
  }
  for (
    const [flag, url] of [["--url", a.url], ["--ctrl-url", a.ctrlUrl], [
      "--data-url",
      a.dataUrl,
    ]] as const
  ) {
    if (url !== undefined && (typeof url !== "string" || !isLttngUrl(url))) {
      problems.push(
        `${flag} must be an LTTng URL: file:///DIR, net://HOST[:CTRL[:DATA]][/PATH], net6://..., tcp://HOST:PORT`,
      );
    }
  }
  if (a.ctrlUrl !== undefined && a.dataUrl !== undefined) {
    if (!/^(tcp6?):\/\//.test(a.ctrlUrl) || !/^(tcp6?):\/\//.test(a.dataUrl)) {
      problems.push("--ctrl-url and --data-url must be tcp:// or tcp6:// URLs");
    }
  }
  return problems;
}

function isLttngUrl(url: string): boolean {
  return /^(file:\/\/\/[^\0]*|(net6?|tcp6?):\/\/[^\s\0/]+(\/[^\0]*)?)$/.test(url) &&
    !url.startsWith("-");
}
