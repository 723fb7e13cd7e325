import { after, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { NatsServer, natsServerPerFile } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeService } from "./service.ts";
import type { SystemRuntime } from "./inject.ts";
import type { Logger } from "../shared/logger.ts";

/** Records what the plugin asks of the host's system runtime (the gateway e2e covers the real one). */
function recordingSystem() {
  const enqueued: Array<{ text: string; sessionKey: string }> = [];
  const wakes: Array<Record<string, unknown>> = [];
  const system: SystemRuntime = {
    enqueueSystemEvent: (text, opts) => {
      enqueued.push({ text, sessionKey: opts.sessionKey });
      return true;
    },
    requestHeartbeat: (opts) => {
      wakes.push({ ...opts });
    },
  };
  return { system, enqueued, wakes };
}

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nats = natsServerPerFile();

function startPlugin(raw: Record<string, unknown>) {
  const cfg = parseConfig({ url: nats.server.url, ...raw });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "test" }, log);
  const rec = recordingSystem();
  const wake = new WakeService(cfg, rec.system, log);
  wake.attach(link);
  void link.start();
  return { ...rec, link, wake, stop: async () => (await wake.stop(), await link.stop()) };
}

test("urgent wakes now, normal and low only enqueue; receipts answer requests", async () => {
  const p = startPlugin({});
  after(p.stop);
  await p.link.ready();
  await until(() => logs.some((l) => l.includes("subscribed to agent.*.inbox")));
  const reply = await nats.client.request("agent.ops.inbox", JSON.stringify({ from: "alertmanager", body: "Service X is down", priority: "urgent" }));
  assert.deepEqual(reply.json(), { ok: true, sessionKey: "agent:ops:main", priority: "urgent", queued: true });
  nats.client.publish("agent.ops.inbox", JSON.stringify({ from: "cron", body: "daily report", priority: "normal" }));
  nats.client.publish("agent.ops.inbox", JSON.stringify({ from: "cron", body: "fyi", priority: "low", sessionKey: "agent:ops:telegram:direct:42" }));
  await until(() => p.enqueued.length === 3);
  assert.deepEqual(p.enqueued, [
    { text: "[URGENT from alertmanager] Service X is down", sessionKey: "agent:ops:main" },
    { text: "[NORMAL from cron] daily report", sessionKey: "agent:ops:main" },
    { text: "[LOW from cron] fyi", sessionKey: "agent:ops:telegram:direct:42" },
  ]);
  assert.deepEqual(p.wakes, [{ source: "hook", intent: "immediate", reason: "hook:nats", agentId: "ops", sessionKey: "agent:ops:main" }]);
  await p.stop();
});

test("invalid messages get an error reply, a log line and a DLQ copy with the reason", async () => {
  const p = startPlugin({});
  after(p.stop);
  await p.link.ready();
  await until(() => logs.filter((l) => l.includes("subscribed to")).length >= 2);
  const dlq = nats.client.subscribe("openclaw.nats.dlq");
  const cases: Array<[string, RegExp]> = [
    ["{not json", /^invalid JSON/],
    [JSON.stringify({ from: "x", body: "y", priority: "asap" }), /priority: must be one of/],
    [JSON.stringify({ from: "x", body: "y", to: "a.*" }), /to: must be an agent id/],
    [JSON.stringify({ body: "y" }), /missing from/],
  ];
  for (const [data, reason] of cases) {
    const reply = await nats.client.request("agent.ops.inbox", data);
    const r = reply.json<{ ok: boolean; error: string }>();
    assert.equal(r.ok, false);
    assert.match(r.error, reason);
  }
  let n = 0;
  for await (const m of dlq) {
    const rec = m.json<{ reason: string; subject: string; data: string }>();
    assert.equal(rec.subject, "agent.ops.inbox");
    assert.equal(rec.data, cases[n]![0]);
    assert.match(rec.reason, cases[n]![1]);
    assert.equal(m.headers?.get("Openclaw-Dlq-Reason"), rec.reason);
    if (++n === cases.length) break;
  }
  assert.ok(logs.some((l) => /rejected message on agent.ops.inbox: invalid JSON/.test(l)));
  assert.equal(p.enqueued.length, 0);
  await p.stop();
});

test("subscriptions resume after the server restarts", async () => {
  const own = await NatsServer.start();
  const cfg = parseConfig({ url: own.url, reconnect: { delayMs: 50, maxDelayMs: 200 } });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "t" }, log);
  const rec = recordingSystem();
  const wake = new WakeService(cfg, rec.system, log);
  wake.attach(link);
  void link.start();
  await link.ready();
  await own.kill();
  await own.restart();
  await until(() => link.status().reconnects >= 1, 10_000);
  const c = await connect({ servers: own.url });
  const r = await c.request("agent.main.inbox", JSON.stringify({ from: "a", body: "after restart" }), { timeout: 5000 });
  assert.equal(r.json<{ ok: boolean }>().ok, true);
  assert.deepEqual(rec.enqueued.map((e) => e.text), ["[NORMAL from a] after restart"]);
  await c.close();
  await wake.stop();
  await link.stop();
  await own.stop();
});

test("the gateway's NATS link starts while the server is down and connects when it appears", async () => {
  const own = await NatsServer.start();
  await own.stop();
  const link = new NatsLink({ url: own.url, reconnect: { maxAttempts: -1, delayMs: 50, maxDelayMs: 100 }, name: "t" }, log);
  void link.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(link.isConnected, false);
  await own.restart();
  await link.ready(10_000);
  assert.equal(link.isConnected, true);
  await link.stop();
  await own.stop();
});

test("durable inbox: messages sent while nobody listens are injected once, after start", async () => {
  const cfg = { subjects: ["dur.*.inbox"], inbox: { durable: true, streamName: "INBOX_T", consumerName: "gw" } };
  // first start provisions the stream, then the plugin goes away
  let p = startPlugin(cfg);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_T/gw consuming")));
  await p.stop();
  const js = jetstream(nats.client);
  await js.publish("dur.ops.inbox", JSON.stringify({ from: "a", body: "while down 1", priority: "urgent" }), { msgID: "m1" });
  await js.publish("dur.ops.inbox", JSON.stringify({ from: "a", body: "while down 2" }), { msgID: "m2" });
  const again = await js.publish("dur.ops.inbox", JSON.stringify({ from: "a", body: "while down 1", priority: "urgent" }), { msgID: "m1" });
  assert.equal(again.duplicate, true);
  await js.publish("dur.ops.inbox", "{bad", { msgID: "m3" });
  const dlq = nats.client.subscribe("openclaw.nats.dlq", { max: 1 });
  p = startPlugin(cfg);
  await until(() => p.enqueued.length === 2, 10_000);
  for await (const m of dlq) assert.match(m.json<{ reason: string }>().reason, /invalid JSON/);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(p.enqueued.map((e) => e.text), ["[URGENT from a] while down 1", "[NORMAL from a] while down 2"]);
  assert.equal(p.wakes.length, 1);
  await p.stop();
});
