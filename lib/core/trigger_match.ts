/**
 * Which crashes a trigger's condition selects: the `--exec` glob (on the exec name, or on
 * the executable's path), `--uid` and `--signal`. The daemon's crash handler and the
 * HISTORY filter both call {@linkcode conditionMatches}.
 *
 * @module
 */
import picomatch from "picomatch";
import type { CrashFacts } from "./crash_facts.ts";
import type { TriggerCondition, TriggerSpec } from "./trigger.ts";

const globCache = new Map<string, (s: string) => boolean>();

function globMatcher(glob: string): (s: string) => boolean {
  const cached = globCache.get(glob);
  if (cached !== undefined) return cached;
  const m: (s: string) => boolean = picomatch(glob, { dot: true });
  if (globCache.size > 1000) globCache.clear();
  globCache.set(glob, m);
  return m;
}

/**
 * Whether an `--exec` glob is a path glob (it holds a `/`): it then matches the
 * executable's path as the kernel reports it (`%E`, or `/proc/PID/exe` of the held
 * process), and never the exec name, which any process can set to anything, `/` included.
 *
 * @example
 * ```ts
 * import { isPathGlob } from "./trigger_match.ts";
 *
 * isPathGlob("/usr/sbin/nginx"); // => true
 * isPathGlob("nginx*"); // => false
 * ```
 */
export function isPathGlob(glob: string): boolean {
  return glob.includes("/");
}

// The kernel reports an executable replaced while it ran (a package upgrade) as
// "PATH (deleted)": still that program. Only who can write PATH's directory could name
// a file so.
const DELETED = " (deleted)";

/**
 * Does `condition` select `crash`? Every filter present must match. A path glob (see
 * {@linkcode isPathGlob}) matches only the executable's path, and nothing when the path is
 * not known; any other glob matches only the exec name.
 */
export function conditionMatches(condition: TriggerCondition, crash: CrashFacts): boolean {
  if (condition.uids !== undefined && !condition.uids.includes(crash.uid)) return false;
  if (condition.signals !== undefined) {
    if (crash.signal === undefined || !condition.signals.includes(crash.signal)) return false;
  }
  if (condition.exec !== undefined) {
    const m = globMatcher(condition.exec);
    if (isPathGlob(condition.exec)) {
      const path = crash.exePath;
      if (path === undefined) return false;
      if (!m(path) && !(path.endsWith(DELETED) && m(path.slice(0, -DELETED.length)))) {
        return false;
      }
    } else if (!m(crash.execName)) {
      return false;
    }
  }
  return true;
}

/**
 * The warning for a root daemon's trigger whose `--exec` glob matches the exec name with
 * no `--uid`: any user can fire it, by naming a process so and crashing it (they spend
 * only their own share of its limits, which are counted per uid). Undefined otherwise.
 *
 * @example
 * ```ts
 * import { execFilterWarning } from "./trigger_match.ts";
 *
 * const spec = {
 *   session: "s",
 *   condition: { type: "OnAnyCoreDump" as const, exec: "nginx" },
 *   action: { type: "stop" as const },
 * };
 * execFilterWarning(spec, 0)?.startsWith("--exec=nginx"); // => true
 * execFilterWarning(spec, 1000); // => undefined
 * ```
 */
export function execFilterWarning(spec: TriggerSpec, owner: number): string | undefined {
  const exec = spec.condition.exec;
  if (owner !== 0 || exec === undefined || isPathGlob(exec) || spec.condition.uids !== undefined) {
    return undefined;
  }
  const example = /^[A-Za-z0-9._-]+$/.test(exec) ? exec : "NAME";
  return `--exec=${exec} matches the exec name, which any process can set: any user can fire this trigger by naming a process ${
    JSON.stringify(exec)
  } and crashing it (its limits are counted per uid: they cannot use up root's). To match only the program, give its path (--exec=/usr/sbin/${example}), or the uids it runs as (--uid=0)`;
}
