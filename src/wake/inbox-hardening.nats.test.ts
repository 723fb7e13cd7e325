import { after, test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { until } from "../../test/harness/wait.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeService } from "./service.ts";
import type { Logger } from "../shared/logger.ts";
import { DurableInbox } from "./durable-inbox.ts";
import { WakeDispatcher } from "./dispatcher.ts";
import { Hosting } from "./hosting.ts";
import { inboxStreamConfig } from "./layout.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m), debug: (m) => logs.push(m) };
const nats = natsServerPerFile();
const system = { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined };

const uncaught: unknown[] = [];
process.on("uncaughtException", (err) => uncaught.push(err));
process.on("unhandledRejection", (err) => uncaught.push(err));

function startPlugin(raw: Record<string, unknown>) {
  const cfg = parseConfig({ url: nats.server.url, ...raw });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "test" }, log);
  const wake = new WakeService(cfg, system, log);
  wake.attach(link);
  void link.start();
  return { cfg, link, wake, stop: async () => (await wake.stop(), await link.stop()) };
}

async function streamMessages(name: string): Promise<number> {
  const jsm = await jetstreamManager(nats.client);
  return jsm.streams.info(name).then((i) => i.state.messages, () => 0);
}

test("with the DLQ stream deleted, a bad durable message ends in a DLQ stream or stays in the inbox — never neither", async () => {
  const p = startPlugin({ subjects: ["dl.*.inbox"], deadLetterSubject: "dl.dlq", deadLetterStream: { name: "DLQ_DL" }, inbox: { durable: true, streamName: "INBOX_DL", consumerName: "gw" } });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_DL/gw consuming")), 10_000, "inbox consuming");
  const jsm = await jetstreamManager(nats.client);
  await jsm.streams.delete("DLQ_DL");
  await jetstream(nats.client).publish("dl.ops.inbox", "{not json");
  await until(async () => ((await streamMessages("DLQ_DL")) === 1 && (await streamMessages("INBOX_DL")) === 0) || logs.some((l) => l.includes("dead letter for dl.ops.inbox not stored")), 15_000, "dead-lettered or kept");
  assert.equal((await streamMessages("DLQ_DL")) + (await streamMessages("INBOX_DL")), 1, "in exactly one of the two");
  assert.equal(await streamMessages("DLQ_DL"), 1, "the DLQ stream was created again and holds the copy");
  assert.equal(await streamMessages("INBOX_DL"), 0);
});

test("with the DLQ stream refusing the copy (full, discard new), the bad message stays in the inbox, nak'ed with one log line", async () => {
  const jsm = await jetstreamManager(nats.client);
  await jsm.streams.add({ name: "DLQ_FULL", subjects: ["fu.dlq"], storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.New, max_msgs: 1 });
  await jetstream(nats.client).publish("fu.dlq", "earlier dead letter");
  const p = startPlugin({
    subjects: ["fu.*.inbox"],
    deadLetterSubject: "fu.dlq",
    deadLetterStream: { name: "DLQ_FULL", maxMessages: 1 },
    inbox: { durable: true, streamName: "INBOX_FU", consumerName: "gw", maxDeliver: 2 },
  });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_FU/gw consuming")), 10_000, "inbox consuming");
  await jetstream(nats.client).publish("fu.ops.inbox", "{not json");
  await until(() => logs.filter((l) => l.includes("dead letter for fu.ops.inbox not stored in DLQ_FULL")).length >= 2, 20_000, "two tries refused");
  assert.equal(await streamMessages("INBOX_FU"), 1, "still in the inbox");
  assert.equal(await streamMessages("DLQ_FULL"), 1, "only the earlier dead letter");
});

// Found with this test (nats-server 2.9.10): naks sent right after the pulls were closed put one message
// straight back into a pull request the server still held for the closed subscription (consumer info:
// num_redelivered 1, ack pending 3), so it returned only after the 60-s ack wait. The stop's naks carry a
// short delay now (durable-inbox.ts HAND_BACK_DELAY_MS); without it this test fails.
test("stop with messages in flight: nothing throws from a keep-alive timer, every held message is handed back (nak) and redelivered within seconds after restart", async () => {
  const raw = { subjects: ["st.*.inbox"], inbox: { durable: true, streamName: "INBOX_ST", consumerName: "gw", ackWaitMs: 60_000 } };
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  after(() => release());
  const p = startPlugin(raw);
  let first = 0;
  p.wake.dispatcher.relay = async () => (first++, await held, { kind: "handled", receipt: { ok: true } });
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_ST/gw consuming")), 10_000, "inbox consuming");
  for (let i = 0; i < 3; i++) await jetstream(nats.client).publish("st.ops.inbox", JSON.stringify({ from: "a", body: `m${i}`, deliver: true }));
  await until(() => first === 3, 10_000, "three relays running");
  await p.stop();
  const q = startPlugin(raw);
  after(q.stop);
  const again: string[] = [];
  q.wake.dispatcher.relay = async (m) => (again.push(m.body), { kind: "handled", receipt: { ok: true } });
  // Well inside the 60 s ack wait: only a nak gives them back this soon.
  await until(() => again.length === 3, 15_000, "redelivered after restart");
  await until(async () => (await streamMessages("INBOX_ST")) === 0, 10_000, "acked");
  assert.deepEqual(again.sort(), ["m0", "m1", "m2"]);
  // Keep-alive timers (every 500 ms at least) had the whole restart to fire on the closed connection.
  assert.deepEqual(uncaught, []);
});

test("a partly failed inbox start, retried, runs one loop per consumer and one advisory subscription", async () => {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["agent.*.inbox"], inbox: { durable: true, streamName: "INBOX_PH", consumerName: "gw" } });
  const jsm = await jetstreamManager(nats.client);
  await jsm.streams.add(inboxStreamConfig(cfg));
  // gw-b exists as a push consumer: starting it fails after gw-a is up.
  await jsm.consumers.add("INBOX_PH", { durable_name: "gw-b", deliver_subject: "ph.push", filter_subject: "agent.b.inbox", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
  const hosting = new Hosting(() => ["a", "b"]);
  hosting.refresh(log);
  const inbox = new DurableInbox(cfg, new WakeDispatcher(cfg, system, log), log, hosting);
  after(() => inbox.stop());
  for (let i = 0; i < 3; i++) await assert.rejects(inbox.start(nats.client));
  await jsm.consumers.delete("INBOX_PH", "gw-b");
  await inbox.start(nats.client);
  assert.deepEqual(inbox.consuming, { consumers: 2, advisory: true });
  await until(async () => (await jsm.consumers.info("INBOX_PH", "gw-a")).num_waiting >= 1, 5000, "gw-a pulling");
  assert.equal((await jsm.consumers.info("INBOX_PH", "gw-a")).num_waiting, 1, "one pull loop on gw-a");
  await inbox.stop();
  assert.deepEqual(inbox.consuming, { consumers: 0, advisory: false });
});
