import { after, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeService } from "./service.ts";
import type { SystemRuntime } from "./inject.ts";
import type { Logger } from "../shared/logger.ts";
import { Hosting } from "./hosting.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(25);
  }
}

const nats = natsServerPerFile();

/** One "gateway": its own connection and wake service, hosting `agents`. */
async function gateway(name: string, agents: string[], raw: Record<string, unknown>) {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["agent.*.inbox", "system.broadcast"], ...raw });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name }, log);
  const got: Array<{ text: string; sessionKey: string }> = [];
  const system: SystemRuntime = { enqueueSystemEvent: (text, o) => (got.push({ text, sessionKey: o.sessionKey }), true), requestHeartbeat: () => undefined };
  const wake = new WakeService(cfg, system, log, new Hosting(() => agents));
  wake.attach(link);
  void link.start();
  await link.ready();
  return { got, stop: async () => (await wake.stop(), await link.stop()) };
}

/** Every reply to one request within `ms` (NATS's "no responders" → []). */
async function replies(subject: string, body: Record<string, unknown>, ms = 1000): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  try {
    const it = await nats.client.requestMany(subject, JSON.stringify({ from: "t", ...body }), { maxWait: ms });
    for await (const m of it) {
      if (m.data.length === 0) break; // a no-responders status
      out.push(m.json());
    }
  } catch (err) {
    if (!/no responders/i.test(String(err))) throw err;
  }
  return out;
}

test("core: each gateway takes its own agents; a shared agent's messages are handled once; nobody hosts → no responders; broadcasts reach every agent once", async () => {
  const a = await gateway("a", ["ops", "shared"], {});
  const b = await gateway("b", ["billing", "shared"], {});
  after(a.stop);
  after(b.stop);
  await until(() => logs.filter((l) => l.includes("subscribed to broadcast system.broadcast")).length >= 2);

  assert.deepEqual(await replies("agent.ops.inbox", { body: "for ops" }), [{ ok: true, sessionKey: "agent:ops:main", priority: "normal", queued: true }]);
  assert.deepEqual(await replies("agent.billing.inbox", { body: "for billing" }), [{ ok: true, sessionKey: "agent:billing:main", priority: "normal", queued: true }]);
  assert.deepEqual(a.got.map((g) => g.text), ["[NORMAL from t] for ops"]);
  assert.deepEqual(b.got.map((g) => g.text), ["[NORMAL from t] for billing"]);

  await assert.rejects(nats.client.request("agent.ghost.inbox", JSON.stringify({ from: "t", body: "anyone?" }), { timeout: 2000 }), /no responders/i);

  a.got.length = 0;
  b.got.length = 0;
  // All 20 at once, each collecting receipts for 2 s: a window wide enough for a starved machine
  // (300 ms one after another missed receipts under a full test run) that still catches a second one.
  const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => replies("agent.shared.inbox", { body: `shared ${i}` }, 2000)));
  receipts.forEach((r, i) => assert.equal(r.length, 1, `one receipt for shared ${i}`));
  const all = [...a.got, ...b.got].map((g) => g.text).sort();
  assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => `[NORMAL from t] shared ${i}`).sort(), "each message handled once");
  assert.ok(a.got.length > 0 && b.got.length > 0, `the queue group spreads the work (a ${a.got.length}, b ${b.got.length})`);

  a.got.length = 0;
  b.got.length = 0;
  const r = await replies("system.broadcast", { body: "maintenance at 22:00" });
  assert.deepEqual(r.map((x) => x.sessionKey).sort(), ["agent:billing:main", "agent:ops:main", "agent:shared:main"]);
  const keys = [...a.got, ...b.got].map((g) => g.sessionKey).sort();
  assert.deepEqual(keys, ["agent:billing:main", "agent:ops:main", "agent:shared:main"], "every hosted agent once, the shared one too");

  const refused = await replies("system.broadcast", { body: "just ops", to: "ops" });
  assert.equal(refused.length, 3);
  assert.match(String(refused[0]!.error), /reaches every hosted agent's main session/);
});

test("durable: gateways hosting the same agent share its consumer (each message once); others' agents stay in the stream", async () => {
  const raw = { inbox: { durable: true, streamName: "INBOX_GW", consumerName: "gw" } };
  const a = await gateway("da", ["ops", "shared"], raw);
  const b = await gateway("db", ["billing", "shared"], raw);
  after(a.stop);
  after(b.stop);
  await until(() => logs.filter((l) => l.includes("durable inbox INBOX_GW/gw-shared consuming")).length >= 2).catch((e) => { console.log(logs.filter((l) => /INBOX_GW|durable/.test(l)).join("\n")); throw e; });
  const js = jetstream(nats.client);
  for (let i = 0; i < 20; i++) await js.publish("agent.shared.inbox", JSON.stringify({ from: "t", body: `d${i}` }));
  await js.publish("agent.ops.inbox", JSON.stringify({ from: "t", body: "d-ops" }));
  await until(() => a.got.length + b.got.length === 21);
  await sleep(500);
  const all = [...a.got, ...b.got].map((g) => g.text).sort();
  assert.deepEqual(all, [...Array.from({ length: 20 }, (_, i) => `[NORMAL from t] d${i}`), "[NORMAL from t] d-ops"].sort());
  assert.ok(a.got.some((g) => g.text.endsWith("d-ops")), "ops's message went to the gateway hosting ops");
});
