import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/parse.ts";
import { buildQuery, matches, parseTime, queryTarget, replayTargetProblem, traceTargets } from "./query.ts";
import { buildEnvelope } from "./envelope.ts";
import type { ReadEvent } from "./reader.ts";

const NOW = Date.parse("2026-11-22T08:00:00Z");

test("parseTime: ISO, epoch ms and durations back from now; anything else names the forms", () => {
  assert.equal(parseTime("2026-11-22T07:00:00Z", NOW, "--since"), NOW - 3_600_000);
  assert.equal(parseTime("1700000000000", NOW, "--since"), 1_700_000_000_000);
  assert.equal(parseTime("15m", NOW, "--since"), NOW - 900_000);
  assert.equal(parseTime("7d", NOW, "--since"), NOW - 7 * 86_400_000);
  assert.throws(() => parseTime("yesterday-ish", NOW, "--until"), /--until "yesterday-ish" is not a time: use an ISO/);
});

test("buildQuery: a session implies its agent; bad agent, type, session and order are refused with the rule", () => {
  const q = buildQuery({ session: "agent:ops:telegram:direct:42", type: "msg.in, custom.deploy,msg.in", text: "Disk" }, NOW);
  assert.deepEqual(q, { agent: "ops", types: ["msg.in", "custom.deploy"], session: "agent:ops:telegram:direct:42", text: "disk", since: undefined, until: undefined });
  assert.throws(() => buildQuery({ agent: "Ops!" }, NOW), /--agent "Ops!" is not an agent id/);
  assert.throws(() => buildQuery({ agent: "main", session: "agent:ops:main" }, NOW), /belongs to agent ops, not --agent main/);
  assert.throws(() => buildQuery({ type: "msg.>" }, NOW), /--type "msg.>" is not an event type/);
  assert.throws(() => buildQuery({ session: "ops" }, NOW), /--session must be a session key/);
  assert.throws(() => buildQuery({ since: "1h", until: "2h" }, NOW), /--until is before --since/);
});

test("queryTarget: the server filters by agent and type; an agent with its own stream is read there", () => {
  const cfg = parseConfig({ events: { agents: { ops: { streamName: "ops-events", subjectPrefix: "ops.events" } } } });
  assert.deepEqual(queryTarget(cfg.events, { agent: undefined, types: [] }), { stream: "openclaw-events", prefix: "openclaw.events", subjects: ["openclaw.events.>"] });
  assert.deepEqual(queryTarget(cfg.events, { agent: "main", types: ["msg.in", "custom.deploy"] }).subjects, ["openclaw.events.main.msg_in", "openclaw.events.main.custom_deploy"]);
  assert.deepEqual(queryTarget(cfg.events, { agent: undefined, types: ["msg.in"] }).subjects, ["openclaw.events.*.msg_in"]);
  assert.deepEqual(queryTarget(cfg.events, { agent: "ops", types: [] }), { stream: "ops-events", prefix: "ops.events", subjects: ["ops.events.ops.>"] });
});

test("matches: session and text are checked per event; non-envelopes never match", () => {
  const ev = (session: string | undefined, content: string): ReadEvent => {
    const event = buildEnvelope({ agent: "main", session, type: "msg.in", payload: { content } });
    return { seq: 1, subject: "openclaw.events.main.msg_in", storedAt: NOW, event, data: new Uint8Array() };
  };
  const q = buildQuery({ session: "agent:main:main", text: "DISK" }, NOW);
  assert.equal(matches(q, ev("agent:main:main", "disk at 91%")), true);
  assert.equal(matches(q, ev("agent:main:other", "disk at 91%")), false);
  assert.equal(matches(q, ev("agent:main:main", "all fine")), false);
  assert.equal(matches(buildQuery({}, NOW), { seq: 2, subject: "x", storedAt: NOW, event: undefined, problem: "invalid JSON", data: new Uint8Array() }), false);
});

test("replayTargetProblem: $-subjects, wildcards, empty tokens and the event stream's own subjects are refused", () => {
  assert.equal(replayTargetProblem("debug.replay", ["openclaw.events"]), undefined);
  assert.match(replayTargetProblem("$JS.API.STREAM.DELETE.x", ["openclaw.events"]) ?? "", /\$-subjects are the server's own/);
  assert.match(replayTargetProblem("$SYS.REQ.SERVER.PING", []) ?? "", /refuses them/);
  assert.match(replayTargetProblem("debug.*", []) ?? "", /wildcards/);
  assert.match(replayTargetProblem("debug..x", []) ?? "", /empty token/);
  assert.match(replayTargetProblem("openclaw.events.main.msg_in", ["openclaw.events"]) ?? "", /recorded again/);
});

test("--trace: a trace id or a traceparent; only events stamped with that trace match; every agent stream is a target", () => {
  const id = "4bf92f3577b34da6a3ce929d0e0e4736";
  assert.equal(buildQuery({ trace: id }, NOW).trace, id);
  assert.equal(buildQuery({ trace: `00-${id.toUpperCase()}-00f067aa0ba902b7-01` }, NOW).trace, id);
  assert.throws(() => buildQuery({ trace: "0".repeat(32) }, NOW), /--trace "0+" is not a trace id/);
  assert.throws(() => buildQuery({ trace: "abc" }, NOW), /is not a trace id/);
  const ev = (traceparent?: string): ReadEvent => {
    const event = buildEnvelope({ agent: "main", session: "agent:main:main", type: "run.start", payload: {}, ...(traceparent ? { trace: { traceparent } } : {}) });
    return { seq: 1, subject: "openclaw.events.main.run_start", storedAt: NOW, event, data: new Uint8Array() };
  };
  const q = buildQuery({ trace: id }, NOW);
  assert.equal(matches(q, ev(`00-${id}-00f067aa0ba902b7-01`)), true);
  assert.equal(matches(q, ev(`00-${"1".repeat(32)}-00f067aa0ba902b7-01`)), false);
  assert.equal(matches(q, ev()), false);
  const cfg = parseConfig({ events: { agents: { ops: { streamName: "ops-events", subjectPrefix: "ops.events" }, far: { streamName: "far-events", url: "nats://elsewhere:4222" } } } });
  const { targets, skipped } = traceTargets(cfg.events, { types: [] });
  assert.deepEqual(targets.map((t) => t.stream), ["openclaw-events", "ops-events"]);
  assert.deepEqual(skipped, ["far"]);
});
