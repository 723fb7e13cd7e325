import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { TestGateway } from "../harness/gateway.ts";
import { promptText, type ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { readEvents, type StoredEvent } from "../harness/event-stream.ts";
import { lastUserText } from "./relay-script.ts";

// One gateway for the memory e2e: agent main with the plugin (event store + memory), the test channel
// "testchan" for real inbound messages (dmScope per-channel-peer: one session per user).
const ALICE = "agent:main:testchan:direct:alice";

describe("memory: the conversation is recorded for every kind of turn", { timeout: 600_000 }, () => {
  let stack: Stack;
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;
  let dir: string;

  const events = (done: (ev: StoredEvent[]) => boolean): Promise<StoredEvent[]> => readEvents(nc, "openclaw.events.main.>", done, 60_000);
  /** Events whose stored text mentions `token`. */
  const carrying = (all: StoredEvent[], token: string): StoredEvent[] => all.filter((e) => typeof e.payload.content === "string" && e.payload.content.includes(token));
  const byRun = (all: StoredEvent[], runId: unknown, type: string): StoredEvent | undefined => all.find((e) => e.type === type && e.meta.runId === runId);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "memory-e2e-"));
    stack = await startStack({
      reply: (req) => {
        const text = promptText(req);
        const wake = /\[URGENT from (\S+)\] (\S+ \S+)/.exec(text);
        if (wake && /heartbeat/i.test(lastUserText(req))) return { text: `ack ${wake[2]}` };
        return { text: `re: ${lastUserText(req)}` };
      },
      gateway: (url) => ({
        plugins: [natsPlugin({ url }), { path: "test/fixtures/test-channel", id: "test-channel" }],
        extraConfig: { channels: { testchan: { enabled: true } }, session: { dmScope: "per-channel-peer" } },
        env: { TESTCHAN_OUT: join(dir, "testchan.jsonl") },
        readyLog: /nats: subscribed to agent\.\*\.inbox/,
      }),
    });
    ({ model, gw, nc } = stack);
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("openclaw agent: turn.user and turn.reply carry the words", async () => {
    const run = await gw.runAgent({ sessionKey: "agent:main:main", message: "The code word is ALPHA-1" });
    assert.equal(run.status, "ok");
    const all = await events((ev) => ev.some((e) => e.type === "turn.reply" && String(e.payload.content).includes("ALPHA-1")));
    const user = all.find((e) => e.type === "turn.user" && e.payload.content === "The code word is ALPHA-1");
    assert.ok(user, "turn.user with the message");
    assert.equal(user.session, "agent:main:main");
    assert.equal(user.payload.trigger, "user");
    const reply = byRun(all, user.meta.runId, "turn.reply");
    assert.equal(reply?.payload.content, "re: The code word is ALPHA-1");
    assert.equal(carrying(all, "ALPHA-1").length, 2, "stored once per side");
  });

  test("Control UI (chat.send): the message is msg.in, turn.user points at it, the reply is stored once", async () => {
    await gw.call("chat.send", { sessionKey: "agent:main:main", message: "Webchat says BRAVO-2", idempotencyKey: "memory-e2e-bravo" });
    const all = await events((ev) => ev.some((e) => e.type === "turn.reply" && String(e.payload.content).includes("BRAVO-2")) && ev.some((e) => e.type === "msg.sending" && e.payload.replyId !== undefined));
    const msgIn = all.find((e) => e.type === "msg.in" && e.payload.content === "Webchat says BRAVO-2");
    assert.ok(msgIn, "msg.in from webchat");
    const user = all.find((e) => e.type === "turn.user" && Array.isArray(e.payload.inIds) && e.payload.inIds.includes(msgIn.id));
    assert.ok(user, "turn.user names the msg.in");
    assert.equal(user.payload.content, undefined);
    const reply = byRun(all, user.meta.runId, "turn.reply");
    assert.equal(reply?.payload.content, "re: Webchat says BRAVO-2");
    const sending = all.find((e) => e.type === "msg.sending" && e.payload.replyId === reply?.id);
    assert.ok(sending, "msg.sending refers to the turn.reply");
    assert.deepEqual(carrying(all, "BRAVO-2").map((e) => e.type).sort(), ["msg.in", "turn.reply"]);
  });

  test("a channel message: msg.in holds it, turn.user points at it, the reply is stored once", async () => {
    const r = (await gw.call("testchan.receive", { from: "alice", text: "Alice here, CHARLIE-3", agentId: "main" })) as { sessionKey: string; delivered: string[] };
    assert.equal(r.sessionKey, ALICE, "per-channel-peer session");
    assert.deepEqual(r.delivered, ["re: Alice here, CHARLIE-3"]);
    const all = await events((ev) => ev.some((e) => e.type === "msg.sending" && e.session === ALICE && e.payload.replyId !== undefined));
    const msgIn = all.find((e) => e.type === "msg.in" && e.payload.content === "Alice here, CHARLIE-3");
    assert.equal(msgIn?.session, ALICE);
    const user = all.find((e) => e.type === "turn.user" && Array.isArray(e.payload.inIds) && e.payload.inIds.includes(msgIn?.id));
    assert.ok(user);
    assert.deepEqual(carrying(all, "CHARLIE-3").map((e) => e.type).sort(), ["msg.in", "turn.reply"]);
  });

  test("relay (NATS deliver:true): turn.user and turn.reply, msg.sending/msg.out refer to the reply", async () => {
    await gw.call("testchan.inbound", { sessionKey: ALICE, from: "alice" });
    const res = await nc.request("agent.main.inbox", JSON.stringify({ from: "scheduler", sessionKey: ALICE, body: "Relay DELTA-4", deliver: true }), { timeout: 120_000 });
    const receipt = res.json<{ ok: boolean; status?: string; reply?: string }>();
    assert.equal(receipt.ok, true, JSON.stringify(receipt));
    assert.equal(receipt.status, "delivered");
    const all = await events((ev) => ev.some((e) => e.type === "msg.out" && e.session === ALICE && e.payload.replyId !== undefined));
    const user = all.find((e) => e.type === "turn.user" && e.payload.content === "[from scheduler] Relay DELTA-4");
    assert.equal(user?.session, ALICE);
    const reply = byRun(all, user?.meta.runId, "turn.reply");
    assert.equal(reply?.payload.content, "re: [from scheduler] Relay DELTA-4");
    const out = all.find((e) => e.type === "msg.out" && e.payload.replyId === reply?.id);
    assert.equal(out?.payload.success, true);
    assert.equal(out?.payload.content, undefined);
    assert.deepEqual(carrying(all, "DELTA-4").map((e) => e.type).sort(), ["turn.reply", "turn.user"]);
  });

  test("wake (NATS urgent): wake.in holds the words, turn.reply the agent's answer; the heartbeat prompt is not recorded", async () => {
    nc.publish("agent.main.inbox", JSON.stringify({ from: "alertmanager", body: "Disk ECHO-5 full", priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes("Disk ECHO-5 full"), 60_000);
    const all = await events((ev) => ev.some((e) => e.type === "turn.reply" && e.payload.content === "ack Disk ECHO-5"));
    const wake = all.find((e) => e.type === "wake.in");
    assert.deepEqual(
      { content: wake?.payload.content, from: wake?.payload.from, priority: wake?.payload.priority, session: wake?.session, channel: wake?.meta.channel },
      { content: "Disk ECHO-5 full", from: "alertmanager", priority: "urgent", session: "agent:main:main", channel: "nats" },
    );
    const reply = all.find((e) => e.type === "turn.reply" && e.payload.content === "ack Disk ECHO-5");
    assert.equal(reply?.payload.trigger, "heartbeat");
    assert.equal(all.filter((e) => e.type === "turn.user" && e.meta.runId === reply?.meta.runId).length, 0, "no turn.user for the heartbeat prompt");
  });
});
