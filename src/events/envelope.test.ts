import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventSubject, subjectToken } from "../shared/subjects.ts";
import { buildEnvelope, eventIdTime, newEventId, SYSTEM_AGENT } from "./envelope.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("event subject", () => {
  it("is {prefix}.{agent}.{type with . → _}", () => {
    assert.equal(eventSubject("openclaw.events", "main", "msg.in"), "openclaw.events.main.msg_in");
    assert.equal(eventSubject("openclaw.events", "system", "gateway.start"), "openclaw.events.system.gateway_start");
    assert.equal(eventSubject("acme.ev", "ops-1", "llm.output.delta"), "acme.ev.ops-1.llm_output_delta");
  });

  it("keeps every part a single token whatever the input", () => {
    assert.equal(subjectToken("a.b*c>d e\tf"), "a_b_c_d_e_f");
    assert.equal(subjectToken(""), "_");
    assert.equal(eventSubject("p", "we.ird", "x").split(".").length, 3);
  });
});

describe("event id", () => {
  it("is a UUIDv7", () => {
    assert.match(newEventId(), UUID_V7);
  });

  it("is unique and sorts in creation order, also within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    assert.equal(new Set(ids).size, ids.length);
    const sorted = [...ids].sort();
    assert.deepEqual(sorted, ids);
  });

  it("carries the creation time in its first 48 bits", async () => {
    await new Promise((r) => setTimeout(r, 50)); // let time pass any milliseconds a burst borrowed
    const before = Date.now();
    const id = newEventId();
    const after = Date.now();
    const ms = parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    assert.ok(ms >= before && ms <= after, `${ms} not in [${before}, ${after}]`);
  });

  it("stays ordered when one millisecond holds more ids than the counter (the timestamp borrows ahead)", (t) => {
    const frozen = Date.now();
    t.mock.method(Date, "now", () => frozen);
    const ids = Array.from({ length: 10_000 }, () => newEventId());
    t.mock.restoreAll();
    const msOf = (id: string): number => parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    assert.equal(msOf(ids[0]), frozen);
    assert.ok(msOf(ids.at(-1)!) > frozen, "later ids borrowed the next milliseconds");
    assert.ok(msOf(ids.at(-1)!) <= frozen + 10_000 / 2048, "at least 2048 ids per millisecond");
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    for (const id of ids) assert.match(id, UUID_V7);
  });
});

describe("buildEnvelope", () => {
  it("has exactly the documented fields", () => {
    const env = buildEnvelope(
      { agent: "main", session: "s1", type: "msg.in", visibility: "public", payload: { text: "hi" }, meta: { runId: "r1", seq: 3, model: "m", channel: "telegram" } },
      "id-1",
      1700000000000,
    );
    assert.deepEqual(env, {
      id: "id-1",
      ts: 1700000000000,
      agent: "main",
      session: "s1",
      type: "msg.in",
      visibility: "public",
      payload: { text: "hi" },
      meta: { runId: "r1", seq: 3, model: "m", channel: "telegram" },
    });
  });

  it("fills defaults: system agent, null session, internal visibility, empty meta without undefined keys", () => {
    const env = buildEnvelope({ agent: "", type: "gateway.start", payload: {}, meta: { runId: undefined, seq: 0 } });
    assert.equal(env.agent, SYSTEM_AGENT);
    assert.equal(env.session, null);
    assert.equal(env.visibility, "internal");
    assert.deepEqual(env.meta, { seq: 0 });
    assert.match(env.id, UUID_V7);
    assert.ok(Math.abs(env.ts - Date.now()) < 1000);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(env))), ["id", "ts", "agent", "session", "type", "visibility", "payload", "meta"]);
  });
});

it("eventIdTime reads the creation time back out of an event id", () => {
  const before = Date.now();
  const t = eventIdTime(newEventId());
  assert.ok(t !== undefined && t >= before && t <= Date.now() + 5);
  assert.equal(eventIdTime("not-an-id"), undefined);
  assert.equal(eventIdTime("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"), undefined, "a v4 uuid carries no time");
});
