/**
 * What the early path (lib/daemon/early_path.ts) and a crash's helper share when the
 * helper joins the crash in flight: which triggers wait for the helper, and the record's
 * facts once both have spoken.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import type { TriggerSpec } from "../core/trigger.ts";

/**
 * Whether `trigger` needs a fact that only the crash's helper (the notifier, or the
 * coredump socket) carries: the signal, for `--signal`. The early path leaves such a
 * trigger to the helper's arrival.
 */
export function needsHelperFacts(trigger: TriggerSpec): boolean {
  return trigger.condition.signals !== undefined;
}

/**
 * The facts of a crash the helper joined at `now`: the kernel's (the helper's) win, what
 * only `/proc` told the early path stays, and so does the global uid the early pin proved
 * where socket mode could not prove the core's; both arrival times.
 */
export function joinedFacts(early: CrashFacts, helper: CrashFacts, now: Date): CrashFacts {
  const facts: CrashFacts = { ...early };
  for (const [k, v] of Object.entries(helper)) {
    if (v !== undefined) (facts as unknown as Record<string, unknown>)[k] = v;
  }
  if (helper.uidVerified === false && early.uidVerified !== false) {
    facts.uid = early.uid;
    facts.gid = early.gid;
    delete facts.uidVerified;
    delete facts.uidNote;
  }
  facts.connectorAt = early.connectorAt;
  facts.helperAt = now.toISOString();
  return facts;
}
