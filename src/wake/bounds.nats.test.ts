import { after, test } from "node:test";
import assert from "node:assert/strict";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { until } from "../../test/harness/wait.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeService } from "./service.ts";
import type { Logger } from "../shared/logger.ts";
import type { WakeHost } from "./host.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const nats = natsServerPerFile();

function startPlugin(raw: Record<string, unknown>) {
  const cfg = parseConfig({ url: nats.server.url, ...raw });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "test" }, log);
  const systemEvents: string[] = [];
  const wake = new WakeService(cfg, { enqueueSystemEvent: (t) => (systemEvents.push(t), true), requestHeartbeat: () => undefined }, log);
  wake.attach(link);
  void link.start();
  return { cfg, link, wake, systemEvents, stop: async () => (await wake.stop(), await link.stop()) };
}

/** A host whose store has only `agent:main:main`; new sessions get memory-only system events (counted). */
function host(): WakeHost & { systemEvents: string[] } {
  const systemEvents: string[] = [];
  return {
    systemEvents,
    enqueueInjection: async () => ({ enqueued: true, id: "x" }),
    pendingInjections: (sessionKey) => (sessionKey === "agent:main:main" ? 0 : undefined),
    sessionsWithPending: () => [],
    enqueueSystemEvent: (text) => (systemEvents.push(text), true),
    startTurn: async () => ({ runId: "r" }),
    waitTurn: async () => "ok",
  };
}

const request = async (subject: string, body: unknown) => (await nats.client.request(subject, JSON.stringify(body), { timeout: 5000 })).json<{ ok: boolean; error?: string }>();

test("core wakes past wake.maxInFlight are refused with a reason, not queued; the next one after is handled", async () => {
  const p = startPlugin({ subjects: ["cap.*.inbox"], wake: { maxInFlight: 2 } });
  after(p.stop);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let relayed = 0;
  p.wake.dispatcher.relay = async () => (relayed++, await held, { kind: "handled", receipt: { ok: true } });
  await until(() => logs.some((l) => l.includes("subscribed to cap.*.inbox")), 5000, "subscribed");
  const a = request("cap.main.inbox", { from: "x", body: "1", expectReply: true });
  const b = request("cap.main.inbox", { from: "x", body: "2", expectReply: true });
  await until(() => relayed === 2, 5000, "two relays held");
  const refused = await request("cap.main.inbox", { from: "x", body: "3", expectReply: true });
  assert.equal(refused.ok, false);
  assert.match(refused.error ?? "", /gateway busy: 2 wake messages in flight \(wake\.maxInFlight 2\)/);
  release();
  assert.deepEqual([(await a).ok, (await b).ok], [true, true]);
  assert.equal((await request("cap.main.inbox", { from: "x", body: "4", expectReply: true })).ok, true);
});

test("a sender opening new sessions past wake.newSessionsPerSenderPerMinute is refused; existing sessions and other senders are not", async () => {
  const p = startPlugin({ subjects: ["ns.*.inbox"], wake: { newSessionsPerSenderPerMinute: 3, newSessionsPerMinute: 5 } });
  after(p.stop);
  const h = host();
  p.wake.dispatcher.handoff.addHost(h);
  await until(() => logs.some((l) => l.includes("subscribed to ns.*.inbox")), 5000, "subscribed");
  for (let i = 0; i < 3; i++) assert.equal((await request("ns.main.inbox", { from: "flood", body: "x", priority: "low", sessionKey: `agent:main:made-up-${i}` })).ok, true);
  const over = await request("ns.main.inbox", { from: "flood", body: "x", priority: "low", sessionKey: "agent:main:made-up-3" });
  assert.equal(over.ok, false);
  assert.match(over.error ?? "", /sender "from:flood" opened 3 new sessions in the last minute \(wake\.newSessionsPerSenderPerMinute 3\)/);
  assert.equal((await request("ns.main.inbox", { from: "flood", body: "x", priority: "urgent", sessionKey: "agent:main:main" })).ok, true, "an existing session is not a new one");
  assert.equal((await request("ns.main.inbox", { from: "other", body: "x", priority: "low", sessionKey: "agent:main:o1" })).ok, true);
  assert.equal((await request("ns.main.inbox", { from: "other", body: "x", priority: "low", sessionKey: "agent:main:o2" })).ok, true);
  const total = await request("ns.main.inbox", { from: "third", body: "x", priority: "low", sessionKey: "agent:main:t1" });
  assert.match(total.error ?? "", /5 new sessions in the last minute \(wake\.newSessionsPerMinute 5\)/);
  assert.equal(h.systemEvents.length, 5, "the host holds state for the admitted new sessions only");
});
