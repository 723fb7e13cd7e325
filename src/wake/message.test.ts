import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWakeMessage } from "./message.ts";
import { formatWakeText, resolveTarget } from "./route.ts";

const enc = (v: unknown): Uint8Array =>
  v instanceof Uint8Array ? v : new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const reason = (v: unknown, max = 65536): string => {
  const r = parseWakeMessage(enc(v), max);
  assert.equal(r.ok, false);
  return r.ok ? "" : r.reason;
};

test("a seed-format message parses", () => {
  const r = parseWakeMessage(enc({ from: "alertmanager", body: "Service X is down", priority: "urgent", to: "ops" }), 65536);
  assert.ok(r.ok);
  assert.equal(r.ok && r.message.priority, "urgent");
});

test("bad input is rejected with the reason", () => {
  assert.match(reason("{nope"), /^invalid JSON/);
  assert.equal(reason([1]), "message must be a JSON object");
  assert.equal(reason({ body: "x" }), "missing from");
  assert.equal(reason({ from: 3, body: "x" }), "from: must be string");
  assert.equal(reason({ from: "a", body: "x", priority: "high" }), "priority: must be one of urgent, normal, low");
  assert.match(reason({ from: "a", body: "x", to: "a.b" }), /^to: must be an agent id/);
  assert.match(reason({ from: "a", body: "x", to: "a*" }), /^to: must be an agent id/);
  assert.match(reason({ from: "a", body: "x", to: "a b" }), /^to: must be an agent id/);
  assert.equal(reason({ from: "a", body: "x", sessionKey: "main" }), "sessionKey: must look like agent:<agentId>:<rest>");
  assert.equal(reason('{"from":"a","body":"x","__proto__":{"polluted":1}}'), 'forbidden key "__proto__"');
  assert.equal(reason({ from: "a", body: "x", metadata: { constructor: 1 } }), 'forbidden key "metadata.constructor"');
  assert.equal(reason({ from: "a", body: "x".repeat(11) }, 10), "body is 11 bytes, over maxBodyBytes 10");
  assert.equal(reason({ from: "a", body: "x", prio: "low" }), "unknown field prio");
  assert.match(reason(new Uint8Array([0xff, 0xfe])), /^invalid JSON/);
});

test("routing: sessionKey wins, then to, then the default agent", () => {
  assert.deepEqual(resolveTarget({ sessionKey: "agent:ops:telegram:direct:1", to: "x" }, "main"), { agentId: "ops", sessionKey: "agent:ops:telegram:direct:1" });
  assert.deepEqual(resolveTarget({ to: "ops" }, "main"), { agentId: "ops", sessionKey: "agent:ops:main" });
  assert.deepEqual(resolveTarget({}, "main"), { agentId: "main", sessionKey: "agent:main:main" });
  assert.deepEqual(resolveTarget({}, "main", "agent.ops.inbox"), { agentId: "ops", sessionKey: "agent:ops:main" });
  assert.deepEqual(resolveTarget({}, "main", "agent.Bad*.inbox"), { agentId: "main", sessionKey: "agent:main:main" });
  assert.deepEqual(resolveTarget({ to: "x" }, "main", "agent.ops.inbox"), { agentId: "x", sessionKey: "agent:x:main" });
  assert.equal(formatWakeText("urgent", "alertmanager", "Service X is down"), "[URGENT from alertmanager] Service X is down");
});
