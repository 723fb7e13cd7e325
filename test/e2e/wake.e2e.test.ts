import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { until, wakeFigures } from "../harness/wait.ts";

describe("wake through a real gateway", () => {
  let stack: Stack;
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;

  before(async () => {
    stack = await startStack({
      gateway: (url) => ({ plugins: [natsPlugin({ url, events: { enabled: false } })], readyLog: /nats: subscribed to agent\.\*\.inbox/, timeoutMs: 300_000 }),
    });
    ({ model, gw, nc } = stack);
  });
  after(() => stack?.stop());

  test("an urgent message reaches the model prompt as a system event", async () => {
    const reply = await nc.request("agent.main.inbox", JSON.stringify({ from: "alertmanager", body: "Service X is down (urgent-1)", priority: "urgent" }), { timeout: 60_000 });
    assert.deepEqual(reply.json(), { ok: true, sessionKey: "agent:main:main", priority: "urgent", queued: true });
    const req = await model.waitFor((r) => promptText(r).includes("[URGENT from alertmanager] Service X is down (urgent-1)"), 240_000);
    assert.ok(req);
  });

  test("normal and low never start a turn; they ride along with the next wake", async () => {
    const before = model.requests.length;
    const was = await wakeFigures(gw);
    nc.publish("agent.main.inbox", JSON.stringify({ from: "cron", body: "nightly report ready (normal-1)", priority: "normal" }));
    nc.publish("agent.main.inbox", JSON.stringify({ from: "cron", body: "disk at 60% (low-1)", priority: "low" }));
    await nc.flush();
    // Both handed to the host: whether a message starts a turn is decided at that moment.
    await until(async () => (await wakeFigures(gw)).injected >= was.injected + 2, 60_000, "normal and low handed off");
    assert.equal((await wakeFigures(gw)).turns?.turns, was.turns?.turns, "no wake turn for normal or low");
    nc.publish("agent.main.inbox", JSON.stringify({ from: "pager", body: "db failover (urgent-2)", priority: "urgent" }));
    const req = await model.waitFor((r) => promptText(r).includes("db failover (urgent-2)"), 240_000);
    assert.match(promptText(req), /\[NORMAL from cron\] nightly report ready \(normal-1\)/);
    assert.match(promptText(req), /\[LOW from cron\] disk at 60% \(low-1\)/);
    assert.equal(req.index, before, "no model call for normal or low before the urgent one");
  });

  test("invalid messages land on the dead-letter subject and the sender hears why", async () => {
    const dlq = nc.subscribe("openclaw.nats.dlq", { max: 1 });
    const reply = await nc.request("agent.main.inbox", JSON.stringify({ from: "x", body: "y", priority: "asap" }), { timeout: 5000 });
    assert.deepEqual(reply.json(), { ok: false, error: "priority: must be one of urgent, normal, low" });
    for await (const m of dlq) assert.equal(m.json<{ reason: string }>().reason, "priority: must be one of urgent, normal, low");
    await gw.waitForLog(/nats: rejected message on agent\.main\.inbox: priority/, 5000);
  });
});
