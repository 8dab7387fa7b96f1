/** The advice `set` and `status` give about a trigger's session, as LTTng 2.13 allows it. */
import assert from "node:assert/strict";
import {
  contextProblem,
  parseSavedSession,
  sessionProblem,
} from "../../lib/lttng/session_checks.ts";

const SESSION = { name: "s1", path: "", enabled: true, snapshotMode: true };

Deno.test("sessionProblem() advises a new session or destroy-and-create, never create over it", () => {
  assert.equal(
    sessionProblem("s1", { type: "snapshot" }, undefined),
    "session \"s1\" does not exist yet: create it with 'lttng create s1 --snapshot'",
  );
  // A stop needs no snapshot mode.
  assert.equal(
    sessionProblem("s1", { type: "stop" }, undefined),
    "session \"s1\" does not exist yet: create it with 'lttng create s1'",
  );
  assert.equal(
    sessionProblem("s1", { type: "stop" }, { ...SESSION, snapshotMode: false }),
    undefined,
  );
  assert.equal(
    sessionProblem("s1", { type: "snapshot" }, { ...SESSION, snapshotMode: false }),
    "session \"s1\" is not in snapshot mode, which the snapshot action needs, and a session's mode cannot change: create another one with 'lttng create NAME --snapshot' and set the trigger on it, or 'lttng destroy s1' and then 'lttng create s1 --snapshot'",
  );
  assert.equal(sessionProblem("s1", { type: "snapshot" }, SESSION), undefined);
});

/** What `lttng save` (LTTng 2.13.9) wrote for a session, cut to what is read. */
function saved(started: boolean, contexts: string[]): string {
  const ctx = contexts.map((c) => `<context>\n<type>${c}</type>\n</context>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<sessions>
	<session>
		<name>s1</name>
		<domains>
			<domain>
				<type>UST</type>
				<buffer_type>PER_UID</buffer_type>
				<channels>
					<channel>
						<name>channel0</name>
						<events><event><name>*</name><type>TRACEPOINT</type></event></events>
						${contexts.length === 0 ? "" : `<contexts>${ctx}</contexts>`}
					</channel>
				</channels>
			</domain>
			<domain>
				<type>JUL</type>
				<channels/>
			</domain>
		</domains>
		<started>${started}</started>
		<attributes><snapshot_mode>true</snapshot_mode></attributes>
	</session>
</sessions>`;
}

Deno.test("parseSavedSession() reads the user-space channels' contexts and whether it started", () => {
  assert.deepEqual(parseSavedSession(saved(true, ["VPID", "VTID"])), {
    started: true,
    ustChannels: [{ name: "channel0", contexts: ["VPID", "VTID"] }],
  });
  assert.deepEqual(parseSavedSession(saved(false, [])), {
    started: false,
    ustChannels: [{ name: "channel0", contexts: [] }],
  });
});

Deno.test("contextProblem(): add-context before the first start, a new session after it", () => {
  assert.equal(contextProblem("s1", parseSavedSession(saved(true, ["VPID", "VTID"]))), undefined);
  assert.equal(
    contextProblem("s1", parseSavedSession(saved(false, ["VPID"]))),
    "session \"s1\" records no vtid context: 'lttng-trig show' cannot tell the crashed process's own events from the others' in its snapshot: add them before 'lttng start': lttng add-context -u -s s1 -t vpid -t vtid",
  );
  assert.equal(
    contextProblem("s1", parseSavedSession(saved(true, []))),
    "session \"s1\" records no vpid or vtid context: 'lttng-trig show' cannot tell the crashed process's own events from the others' in its snapshot; a session that was started once takes no new context: create another one (lttng create NAME --snapshot; lttng add-context -u -t vpid -t vtid; lttng enable-event -u -a; lttng start) and set the trigger on it, or 'lttng destroy s1' and create it again that way",
  );
});

Deno.test("advice names a session with a space as one shell word, so it runs as printed", () => {
  assert.equal(
    sessionProblem("bad name", { type: "snapshot" }, undefined),
    `session "bad name" does not exist yet: create it with 'lttng create "bad name" --snapshot'`,
  );
  assert.equal(
    sessionProblem("bad name", { type: "snapshot" }, { ...SESSION, snapshotMode: false }),
    `session "bad name" is not in snapshot mode, which the snapshot action needs, and a session's mode cannot change: create another one with 'lttng create NAME --snapshot' and set the trigger on it, or 'lttng destroy "bad name"' and then 'lttng create "bad name" --snapshot'`,
  );
  assert.equal(
    contextProblem("it's", parseSavedSession(saved(false, []))),
    `session "it's" records no vpid or vtid context: 'lttng-trig show' cannot tell the crashed process's own events from the others' in its snapshot: add them before 'lttng start': lttng add-context -u -s "it's" -t vpid -t vtid`,
  );
});
