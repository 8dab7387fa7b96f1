/**
 * Can a trigger act on its session, and can `show` find the crashed process's events in
 * its snapshot? The advice given for each problem is what LTTng 2.13 accepts: a session's
 * mode is set at `lttng create` and never changes, and a session that was started once
 * takes no new channel nor context ("Tracing has already been started once").
 *
 * @module
 */
import type { TriggerAction } from "../core/trigger.ts";
import type { SessionInfo } from "./control.ts";
import { denoProcessRunner, type ProcessRunner } from "./process.ts";

/** The session recipe, as README.md and `set --help` give it. */
export const SESSION_RECIPE =
  "lttng create NAME --snapshot; lttng add-context -u -t vpid -t vtid; lttng enable-event -u -a; lttng start";

/**
 * What keeps a trigger with `action` from acting on `name`, with what to do; `undefined`
 * when nothing does. `session` is the session as `lttng list` gives it (`undefined`:
 * there is none of that name).
 *
 * @example A session that is not in snapshot mode cannot become one
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionProblem } from "./session_checks.ts";
 *
 * assert.equal(
 *   sessionProblem("s1", { type: "snapshot" }, {
 *     name: "s1", path: "/tmp/t", enabled: true, snapshotMode: false,
 *   }),
 *   `session "s1" is not in snapshot mode, which the snapshot action needs, and a session's mode cannot change: create another one with 'lttng create NAME --snapshot' and set the trigger on it, or 'lttng destroy s1' and then 'lttng create s1 --snapshot'`,
 * );
 * ```
 */
export function sessionProblem(
  name: string,
  action: TriggerAction,
  session: SessionInfo | undefined,
): string | undefined {
  if (session === undefined) {
    return `session "${name}" does not exist yet: create it with 'lttng create ${shellWord(name)}${
      action.type === "snapshot" ? " --snapshot" : ""
    }'`;
  }
  if (action.type === "snapshot" && !session.snapshotMode) {
    return `session "${name}" is not in snapshot mode, which the snapshot action needs, and a session's mode cannot change: create another one with 'lttng create NAME --snapshot' and set the trigger on it, or 'lttng destroy ${
      shellWord(name)
    }' and then 'lttng create ${shellWord(name)} --snapshot'`;
  }
  return undefined;
}

/**
 * What a trigger with `action` will do on `session` while it is inactive (`[inactive]` in
 * `lttng list`), with what to do; `undefined` when it records. LTTng says nothing of a
 * session that was never started until its snapshot fails ("Session needs to be started
 * once"), and tells no one whether an inactive session ever was: both are said.
 *
 * @example A session created but never started
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionInactivity } from "./session_checks.ts";
 *
 * assert.equal(
 *   sessionInactivity("s1", { type: "snapshot" }, {
 *     name: "s1", path: "", enabled: false, snapshotMode: true,
 *   }),
 *   `session "s1" is inactive: if it was never started, its snapshot fails on a crash with 'Session needs to be started once', and if it was stopped, it holds no event newer than the stop: start it with 'lttng start s1'`,
 * );
 * ```
 */
export function sessionInactivity(
  name: string,
  action: TriggerAction,
  session: SessionInfo | undefined,
): string | undefined {
  if (session === undefined || session.enabled) return undefined;
  const fate = action.type === "snapshot"
    ? "if it was never started, its snapshot fails on a crash with 'Session needs to be started once', and if it was stopped, it holds no event newer than the stop"
    : "a crash has nothing to stop";
  return `session "${name}" is inactive: ${fate}: start it with 'lttng start ${shellWord(name)}'`;
}

/** A session as `lttng save` writes it: what `show` needs from it. */
export interface SavedSession {
  /** Whether it was ever started (it then takes no new channel nor context). */
  started: boolean;
  /** Its user-space channels and the contexts each records (`VPID`, `VTID`...). */
  ustChannels: { name: string; contexts: string[] }[];
}

/** Parse the XML `lttng save` writes for one session. */
export function parseSavedSession(xml: string): SavedSession {
  const started = /<started>true<\/started>/.test(xml);
  const ustChannels: SavedSession["ustChannels"] = [];
  for (const domain of xml.matchAll(/<domain>([\s\S]*?)<\/domain>/g)) {
    if (!/^\s*<type>UST<\/type>/.test(domain[1])) continue;
    for (const channel of domain[1].matchAll(/<channel>([\s\S]*?)<\/channel>/g)) {
      const name = /<name>([^<]*)<\/name>/.exec(channel[1])?.[1] ?? "";
      const block = /<contexts>([\s\S]*?)<\/contexts>/.exec(channel[1])?.[1] ?? "";
      const contexts = [...block.matchAll(/<type>([^<]*)<\/type>/g)].map((m) => m[1]);
      ustChannels.push({ name, contexts });
    }
  }
  return { started, ustChannels };
}

/**
 * `name` as one word of a command line to copy into a shell: as it is when it holds only
 * characters no shell acts on, else double-quoted (single-quoted when it holds a
 * character double quotes would not protect). LTTng takes any session name without `/`,
 * `bad name` included, and advice must still run as printed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellWord } from "./session_checks.ts";
 * assert.equal(shellWord("web-1"), "web-1");
 * assert.equal(shellWord("bad name"), '"bad name"');
 * assert.equal(shellWord('say "$HOME"'), `'say "$HOME"'`);
 * ```
 */
export function shellWord(name: string): string {
  if (/^[A-Za-z0-9._+:@%=,-]+$/.test(name)) return name;
  if (!/["$`\\!]/.test(name)) return `"${name}"`;
  return `'${name.replaceAll("'", `'\\''`)}'`;
}

/**
 * What `show` will miss in the snapshots of `name`, with advice that works on it: `undefined`
 * when every user-space channel records `vpid` and `vtid` (or there is none yet).
 */
export function contextProblem(name: string, saved: SavedSession): string | undefined {
  const missing = ["VPID", "VTID"].filter((ctx) =>
    saved.ustChannels.some((c) => !c.contexts.includes(ctx))
  ).map((ctx) => ctx.toLowerCase());
  if (missing.length === 0) return undefined;
  const what = `session "${name}" records no ${
    missing.join(" or ")
  } context: 'lttng-trig show' cannot tell the crashed process's own events from the others' in its snapshot`;
  if (!saved.started) {
    return `${what}: add them before 'lttng start': lttng add-context -u -s ${
      shellWord(name)
    } -t vpid -t vtid`;
  }
  return `${what}; a session that was started once takes no new context: create another one (${SESSION_RECIPE}) and set the trigger on it, or 'lttng destroy ${
    shellWord(name)
  }' and create it again that way`;
}

/**
 * The session as `lttng save` describes it, saved into a temporary directory that is then
 * removed; `undefined` when LTTng cannot say (no session daemon, no such session).
 */
export async function readSavedSession(
  name: string,
  runner: ProcessRunner = denoProcessRunner,
): Promise<SavedSession | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-save-" });
  try {
    const r = await runner.run(
      "lttng",
      ["--no-sessiond", "save", "--force", `--output-path=${dir}`, name],
      { timeoutMs: 5000 },
    );
    if (r.code !== 0) return undefined;
    return parseSavedSession(await Deno.readTextFile(`${dir}/${name}.lttng`));
  } catch {
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
