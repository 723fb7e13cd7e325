import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeService } from "./service.ts";
import type { SystemRuntime } from "./inject.ts";
import type { Logger } from "../shared/logger.ts";
import { DurableInbox } from "./durable-inbox.ts";
import { WakeDispatcher } from "./dispatcher.ts";
import { Hosting } from "./hosting.ts";
import { refusedReplies } from "./dead-letter.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(25);
  }
}

function recordingSystem() {
  const enqueued: string[] = [];
  const system: SystemRuntime = {
    enqueueSystemEvent: (text) => (enqueued.push(text), true),
    requestHeartbeat: () => undefined,
  };
  return { system, enqueued };
}

const nats = natsServerPerFile();

function startPlugin(raw: Record<string, unknown>) {
  const cfg = parseConfig({ url: nats.server.url, ...raw });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "test" }, log);
  const rec = recordingSystem();
  const wake = new WakeService(cfg, rec.system, log);
  wake.attach(link);
  void link.start();
  return { ...rec, cfg, link, wake, stop: async () => (await wake.stop(), await link.stop()) };
}

/** The dead-letter copies kept in the DLQ stream (read back with nobody having subscribed). */
async function storedDeadLetters(stream: string): Promise<Array<{ reason: string; subject: string; data?: string }>> {
  const jsm = await jetstreamManager(nats.client);
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(m.json<{ reason: string; subject: string; data?: string }>());
  }
  return out;
}

test("a repeated metadata.id is not a duplicate: both messages are injected; Nats-Msg-Id dedup is the stream's", async () => {
  const p = startPlugin({ subjects: ["dd.*.inbox"], inbox: { durable: true, streamName: "INBOX_DD", consumerName: "gw" } });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_DD/gw consuming")));
  const js = jetstream(nats.client);
  await js.publish("dd.ops.inbox", JSON.stringify({ from: "a", body: "first", metadata: { id: "same" } }));
  await js.publish("dd.ops.inbox", JSON.stringify({ from: "a", body: "second", metadata: { id: "same" } }));
  const dup = await js.publish("dd.ops.inbox", JSON.stringify({ from: "a", body: "third" }), { msgID: "x1" });
  const again = await js.publish("dd.ops.inbox", JSON.stringify({ from: "a", body: "third" }), { msgID: "x1" });
  assert.equal(dup.duplicate, false);
  assert.equal(again.duplicate, true, "the stream's duplicate window drops the re-publish");
  await until(() => p.enqueued.length === 3);
  await sleep(300);
  assert.deepEqual(p.enqueued, ["[NORMAL from a] first", "[NORMAL from a] second", "[NORMAL from a] third"]);
  await p.stop();
});

test("a true redelivery (same stream sequence) of an injected message is acked, not injected again", async () => {
  const cfg = parseConfig({ inbox: { durable: true } });
  const rec = recordingSystem();
  const inbox = new DurableInbox(cfg, new WakeDispatcher(cfg, rec.system, log), log, new Hosting());
  const acks: string[] = [];
  const fake = (deliveryCount: number) =>
    ({
      seq: 7,
      subject: "agent.ops.inbox",
      data: new TextEncoder().encode(JSON.stringify({ from: "a", body: "once" })),
      headers: undefined,
      redelivered: deliveryCount > 1,
      info: { deliveryCount, stream: "S" },
      ack: () => acks.push(`ack${deliveryCount}`),
      ackAck: async () => (acks.push(`ackAck${deliveryCount}`), true),
      nak: () => acks.push(`nak${deliveryCount}`),
      term: () => acks.push(`term${deliveryCount}`),
      working: () => undefined,
    }) as unknown as JsMsg;
  await inbox.handle(nats.client, fake(1));
  await inbox.handle(nats.client, fake(2));
  assert.deepEqual(rec.enqueued, ["[NORMAL from a] once"]);
  assert.deepEqual(acks, ["ackAck1", "ack2"]);
  assert.equal(inbox.counts.redeliveriesSkipped, 1);
});

test("the same publisher message (Nats-Msg-Id) stored twice under two sequences is injected once", async () => {
  const cfg = parseConfig({ inbox: { durable: true } });
  const rec = recordingSystem();
  const inbox = new DurableInbox(cfg, new WakeDispatcher(cfg, rec.system, log), log, new Hosting());
  const acks: string[] = [];
  const fake = (seq: number, id: string) => {
    const h = headers();
    h.set("Nats-Msg-Id", id);
    return {
      seq,
      subject: "agent.ops.inbox",
      data: new TextEncoder().encode(JSON.stringify({ from: "a", body: id })),
      headers: h,
      redelivered: false,
      info: { deliveryCount: 1, stream: "S" },
      ack: () => acks.push(`ack${seq}`),
      ackAck: async () => (acks.push(`ackAck${seq}`), true),
      nak: () => acks.push(`nak${seq}`),
      term: () => acks.push(`term${seq}`),
      working: () => undefined,
    } as unknown as JsMsg;
  };
  await inbox.handle(nats.client, fake(11, "w-1"));
  await inbox.handle(nats.client, fake(12, "w-1"));
  await inbox.handle(nats.client, fake(13, "w-2"));
  assert.deepEqual(rec.enqueued, ["[NORMAL from a] w-1", "[NORMAL from a] w-2"]);
  assert.deepEqual(acks, ["ackAck11", "ack12", "ackAck13"]);
  assert.equal(inbox.counts.redeliveriesSkipped, 1);
});

test("a relay turn longer than ackWait neither blocks other messages nor gets redelivered", async () => {
  const p = startPlugin({ subjects: ["lr.*.inbox"], inbox: { durable: true, streamName: "INBOX_LR", consumerName: "gw", ackWaitMs: 1000 } });
  after(p.stop);
  let relayCalls = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  p.wake.dispatcher.relay = async () => {
    relayCalls++;
    await released;
    return { kind: "handled", receipt: { ok: true } };
  };
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_LR/gw consuming")));
  const js = jetstream(nats.client);
  await js.publish("lr.ops.inbox", JSON.stringify({ from: "a", body: "take a turn", deliver: true }));
  await js.publish("lr.ops.inbox", JSON.stringify({ from: "a", body: "meanwhile" }));
  await until(() => p.enqueued.length === 1);
  assert.deepEqual(p.enqueued, ["[NORMAL from a] meanwhile"], "the plain wake passed the running relay turn");
  await sleep(3500); // three and a half ack waits
  release();
  const jsm = await jetstreamManager(nats.client);
  await until(async () => (await jsm.streams.info("INBOX_LR")).state.messages === 0);
  assert.equal(relayCalls, 1, "kept alive with working(): never redelivered");
  await p.stop();
});

test("a message that fails on every delivery reaches the DLQ stream (nobody subscribed) after maxDeliver", async () => {
  const p = startPlugin({ subjects: ["md.*.inbox"], deadLetterSubject: "md.dlq", deadLetterStream: { name: "DLQ_MD" }, inbox: { durable: true, streamName: "INBOX_MD", consumerName: "gw", maxDeliver: 2 } });
  after(p.stop);
  let calls = 0;
  p.wake.dispatcher.relay = async () => {
    calls++;
    throw new Error("host down");
  };
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_MD/gw consuming")));
  await jetstream(nats.client).publish("md.ops.inbox", JSON.stringify({ from: "a", body: "doomed", deliver: true }));
  await until(async () => (await storedDeadLetters("DLQ_MD").catch(() => [])).length === 1);
  const [rec] = await storedDeadLetters("DLQ_MD");
  assert.equal(rec!.subject, "md.ops.inbox");
  assert.match(rec!.reason, /failed on delivery 2 of 2: host down/);
  assert.equal(calls, 2);
  await p.stop();
});

test("a message whose last delivery is never acked (holder died) is dead-lettered from the server's advisory", async () => {
  const inboxCfg = { durable: true, streamName: "INBOX_ADV", consumerName: "gw", maxDeliver: 1, ackWaitMs: 2000 };
  const base = { subjects: ["adv.*.inbox"], deadLetterSubject: "adv.dlq", deadLetterStream: { name: "DLQ_ADV" }, inbox: inboxCfg };
  let p = startPlugin(base);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_ADV/gw consuming")));
  await p.stop();
  await jetstream(nats.client).publish("adv.ops.inbox", JSON.stringify({ from: "a", body: "held by a dying gateway" }));
  // A "gateway" pulls it and dies without acking: its one delivery is used up.
  const held = await (await jetstream(nats.client).consumers.get("INBOX_ADV", "gw")).next({ expires: 5000 });
  assert.ok(held);
  p = startPlugin(base);
  after(p.stop);
  await until(async () => (await storedDeadLetters("DLQ_ADV").catch(() => [])).length === 1, 20_000);
  const [rec] = await storedDeadLetters("DLQ_ADV");
  assert.match(rec!.reason, /not acknowledged after 1 deliveries/);
  assert.equal(rec!.data, JSON.stringify({ from: "a", body: "held by a dying gateway" }));
  const jsm = await jetstreamManager(nats.client);
  assert.equal((await jsm.streams.info("INBOX_ADV")).state.messages, 0, "removed from the inbox");
  assert.equal(p.enqueued.length, 0);
  await p.stop();
});

test("the DLQ stream is bounded: the oldest copies go first", async () => {
  const p = startPlugin({ subjects: ["bd.*.inbox"], deadLetterSubject: "bd.dlq", deadLetterStream: { name: "DLQ_BD", maxMessages: 3 } });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("created dead-letter stream DLQ_BD")));
  await until(() => logs.some((l) => l.includes("subscribed to bd.*.inbox")));
  for (let i = 0; i < 5; i++) nats.client.publish("bd.ops.inbox", `{bad ${i}`);
  await until(async () => (await storedDeadLetters("DLQ_BD").catch(() => [])).map((r) => r.data).join() === "{bad 2,{bad 3,{bad 4");
  await p.stop();
});

test("an existing inbox stream with another config: one clear log line, and it keeps working", async () => {
  const jsm = await jetstreamManager(nats.client);
  await jsm.streams.add({ name: "INBOX_OLD", subjects: ["old.*.inbox"], retention: RetentionPolicy.Limits, storage: StorageType.Memory });
  const p = startPlugin({ subjects: ["old.*.inbox"], inbox: { durable: true, streamName: "INBOX_OLD", consumerName: "gw" } });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("durable inbox INBOX_OLD/gw consuming")));
  const lines = logs.filter((l) => l.includes("INBOX_OLD exists with a different config"));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /retention "limits" \(the inbox wants "workqueue"\); storage "memory"/);
  await jetstream(nats.client).publish("old.ops.inbox", JSON.stringify({ from: "a", body: "still works" }));
  await until(() => p.enqueued.length === 1);
  await p.stop();
});

test("a reply subject in $… is never answered: not handled, counted, dead-lettered", async () => {
  const p = startPlugin({ subjects: ["rp.*.inbox"], deadLetterSubject: "rp.dlq", deadLetterStream: { name: "DLQ_RP" } });
  after(p.stop);
  await until(() => logs.some((l) => l.includes("subscribed to rp.*.inbox")));
  const before = refusedReplies.count;
  const spy = nats.client.subscribe("$KV.secrets.>");
  let answered = 0;
  void (async () => {
    for await (const _ of spy) answered++;
  })();
  nats.client.publish("rp.ops.inbox", JSON.stringify({ from: "a", body: "write my KV" }), { reply: "$KV.secrets.admin" });
  await until(async () => (await storedDeadLetters("DLQ_RP").catch(() => [])).length === 1);
  const [rec] = await storedDeadLetters("DLQ_RP");
  assert.match(rec!.reason, /reply subject \$KV\.secrets\.admin is a system subject/);
  assert.equal(refusedReplies.count, before + 1);
  await sleep(200);
  assert.equal(answered, 0);
  assert.equal(p.enqueued.length, 0);
  spy.unsubscribe();
  await p.stop();
});
