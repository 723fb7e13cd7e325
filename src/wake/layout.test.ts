import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/parse.ts";
import { expectedInboxConsumers, inboxConsumerConfig, inboxStreamConfig, isBroadcastSubject, wakeLayout } from "./layout.ts";

test("agent.*.… subjects are expanded per hosted agent; others are shared; not-hosted agents are skipped", () => {
  const cfg = parseConfig({ subjects: ["agent.*.inbox", "agent.>", "agent.billing.inbox", "agent.ops.urgent", "alerts.>", "system.broadcast"] });
  const l = wakeLayout(cfg, ["ops", "main"]);
  assert.deepEqual(Object.fromEntries(l.byAgent), {
    ops: ["agent.ops.inbox", "agent.ops.>", "agent.ops.urgent"],
    main: ["agent.main.inbox", "agent.main.>"],
  });
  assert.deepEqual(l.shared, ["alerts.>"]);
  assert.deepEqual(l.notHosted, ["agent.billing.inbox"]);
  assert.deepEqual(l.broadcast, ["system.broadcast"]);
});

test("broadcasts are subscribed only when some configured subject covers them, and never go to the work queue", () => {
  const off = parseConfig({});
  assert.deepEqual(wakeLayout(off, ["main"]).broadcast, [], "default subjects do not include system.broadcast");
  const wide = parseConfig({ subjects: ["system.>"] });
  assert.deepEqual(wakeLayout(wide, ["main"]).broadcast, ["system.broadcast"]);
  assert.deepEqual(wakeLayout(wide, ["main"]).shared, ["system.>"], "the rest of system.> stays work");
  assert.ok(isBroadcastSubject(wide, "system.broadcast"));
  assert.ok(!isBroadcastSubject(wide, "system.other"));
  const exact = parseConfig({ subjects: ["agent.*.inbox", "system.broadcast"], inbox: { durable: true } });
  assert.deepEqual(inboxStreamConfig(exact).subjects, ["agent.*.inbox"]);
});

test("unknown hosted agents: every subject as it is, one consumer without a filter (the whole stream)", () => {
  const cfg = parseConfig({ inbox: { durable: true } });
  const l = wakeLayout(cfg, undefined);
  assert.deepEqual(l.shared, ["agent.*.inbox"]);
  const [only] = expectedInboxConsumers(cfg, undefined);
  assert.equal(only!.name, "openclaw-gateway");
  assert.equal(inboxConsumerConfig(cfg, only!, inboxStreamConfig(cfg).subjects).filter_subjects, undefined);
});

test("one durable consumer per hosted agent, filtered to its subjects; gateways hosting it share it", () => {
  const cfg = parseConfig({ subjects: ["agent.*.inbox", "alerts.>"], inbox: { durable: true, consumerName: "gw" } });
  const consumers = expectedInboxConsumers(cfg, ["ops", "main"]);
  assert.deepEqual(consumers.map((c) => [c.name, c.filters]), [
    ["gw-ops", ["agent.ops.inbox"]],
    ["gw-main", ["agent.main.inbox"]],
    ["gw", ["alerts.>"]],
  ]);
  const c = inboxConsumerConfig(cfg, consumers[0]!, inboxStreamConfig(cfg).subjects);
  assert.equal(c.filter_subject, "agent.ops.inbox");
  assert.deepEqual(inboxConsumerConfig(cfg, { name: "x", filters: ["a.b", "c.d"] }, ["a.>", "c.>"]).filter_subjects, ["a.b", "c.d"]);
  assert.equal(c.durable_name, "gw-ops");
});
