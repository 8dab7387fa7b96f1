/**
 * The control socket's commands: set, list, remove, history, status.
 *
 * @module
 */
import { ControlCommand, type ControlReply, ControlStatus } from "../wire/control.ts";
import { StoreError, TriggerExistsError, type TriggerStore } from "../store/trigger_store.ts";
import {
  conditionMatches,
  ON_ANY_CORE_DUMP,
  type TriggerSpec,
  validateTriggerSpec,
} from "../trigger.ts";
import type { SessionInfo } from "../lttng/control.ts";

/** What the control handler needs from the daemon. */
export interface ControlContext {
  /** The store. */
  store: TriggerStore;
  /** Uid of the daemon (the owner of its triggers). */
  uid: number;
  /** Lists LTTng sessions, to warn about a trigger on a missing session. */
  listSessions(): Promise<SessionInfo[]>;
  /** Facts for `status`. */
  status(): Record<string, unknown>;
}

function ok(payload: unknown): ControlReply {
  return { status: ControlStatus.OK, error: "", payload };
}

function fail(status: number, error: string): ControlReply {
  return { status, error, payload: null };
}

/** Answer one control request. */
export async function handleControl(
  cmd: number,
  request: unknown,
  ctx: ControlContext,
): Promise<ControlReply> {
  try {
    switch (cmd) {
      case ControlCommand.SET:
        return await set(request, ctx);
      case ControlCommand.LIST:
        return ok({ triggers: ctx.store.listTriggers() });
      case ControlCommand.REMOVE: {
        const name = (request as { name?: unknown } | null)?.name;
        if (typeof name !== "string" || name === "") {
          return fail(ControlStatus.INVALID, "remove needs a trigger name");
        }
        if (!ctx.store.removeTrigger(name)) {
          return fail(
            ControlStatus.NOT_FOUND,
            `no trigger named \`${name}\`: see 'lttng-trig list'`,
          );
        }
        return ok({ removed: name });
      }
      case ControlCommand.HISTORY:
        return history(request, ctx.store);
      case ControlCommand.STATUS:
        return ok(ctx.status());
      default:
        return fail(ControlStatus.UNKNOWN_COMMAND, `unknown command ${cmd}`);
    }
  } catch (err) {
    if (err instanceof StoreError) return fail(ControlStatus.STORE_FAILED, err.message);
    return fail(ControlStatus.ERROR, err instanceof Error ? err.message : String(err));
  }
}

async function set(request: unknown, ctx: ControlContext): Promise<ControlReply> {
  const problems = validateTriggerSpec(request);
  if (problems.length > 0) return fail(ControlStatus.INVALID, problems.join("; "));
  const spec = request as TriggerSpec;
  const warnings = await sessionWarnings(spec, ctx);
  try {
    const trigger = ctx.store.addTrigger(spec, ctx.uid);
    return ok({ trigger, warnings });
  } catch (err) {
    if (err instanceof TriggerExistsError) return fail(ControlStatus.EXISTS, err.message);
    throw err;
  }
}

async function sessionWarnings(spec: TriggerSpec, ctx: ControlContext): Promise<string[]> {
  let sessions: SessionInfo[];
  try {
    sessions = await ctx.listSessions();
  } catch (err) {
    return [
      `cannot check session "${spec.session}": ${err instanceof Error ? err.message : String(err)}`,
    ];
  }
  const session = sessions.find((s) => s.name === spec.session);
  const create = `create it with 'lttng create ${spec.session} --snapshot'`;
  if (session === undefined) {
    return [`session "${spec.session}" does not exist yet: ${create}`];
  }
  if (spec.action.type === "snapshot" && !session.snapshotMode) {
    return [`session "${spec.session}" is not in snapshot mode: ${create}`];
  }
  return [];
}

/**
 * HISTORY: `{limit?, id?, pid?, since?, exec?}`; `exec` is a glob on the exec name or the
 * executable's path, `since` an ISO 8601 time.
 */
function history(request: unknown, store: TriggerStore): ControlReply {
  const r = (typeof request === "object" && request !== null ? request : {}) as Record<
    string,
    unknown
  >;
  const positive = (v: unknown) =>
    v === undefined || (Number.isSafeInteger(v) && (v as number) >= 1);
  if (!positive(r.limit)) {
    return fail(ControlStatus.INVALID, "history's limit must be a positive integer");
  }
  if (!positive(r.id)) {
    return fail(ControlStatus.INVALID, "history's id must be a positive integer");
  }
  if (r.pid !== undefined && !(Number.isSafeInteger(r.pid) && (r.pid as number) >= 0)) {
    return fail(ControlStatus.INVALID, "history's pid must be a non-negative integer");
  }
  if (r.since !== undefined && (typeof r.since !== "string" || Number.isNaN(Date.parse(r.since)))) {
    return fail(ControlStatus.INVALID, "history's since must be an ISO 8601 time");
  }
  if (r.exec !== undefined && (typeof r.exec !== "string" || r.exec === "")) {
    return fail(ControlStatus.INVALID, "history's exec must be a non-empty glob");
  }
  const exec = r.exec as string | undefined;
  const crashes = store.listCrashes({
    limit: r.limit as number | undefined,
    id: r.id as number | undefined,
    pid: r.pid as number | undefined,
    since: r.since === undefined ? undefined : new Date(r.since as string).toISOString(),
    match: exec === undefined
      ? undefined
      : (c) => conditionMatches({ type: ON_ANY_CORE_DUMP, exec }, c),
  });
  return ok({ crashes });
}
