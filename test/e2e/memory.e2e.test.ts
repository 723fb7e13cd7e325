import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { TestGateway } from "../harness/gateway.ts";
import { promptText, type ModelReply, type RecordedRequest, type ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { readEvents, type StoredEvent } from "../harness/event-stream.ts";
import { hasToolResult, lastUserText, toolResultText } from "./relay-script.ts";
import { turnText } from "../harness/turns.ts";
import { stripMemoryBlock } from "../../src/shared/memory-block.ts";

// One gateway for the memory e2e: this plugin (event store + memory) and the test channel "testchan"
// for real inbound messages, with session.dmScope per-channel-peer (one session per user and agent).
// Agents: main (memory defaults: scope peer), solo (scope agent), off (memory off), every (everyTurn).
const ALICE = "agent:main:testchan:direct:alice";
const AGENTS = ["main", "solo", "off", "every"];

/** The scripted model: SEARCH/MSEARCH call a tool, anything else is answered with "re: <what the user said>". */
function reply(req: RecordedRequest): ModelReply {
  // A wake turn carries the NATS message in the turn itself (its next-turn injection), not only in history.
  const wake = /\[URGENT from (\S+)\] (\S+ \S+)/.exec(turnText(req));
  const last = stripMemoryBlock(lastUserText(req));
  if (wake) return { text: `ack ${wake[2]}` };
  if (hasToolResult(req)) return { text: `found: ${toolResultText(req).slice(0, 1500)}` };
  const search = /^SEARCH (.+)$/.exec(last);
  if (search) return { toolCalls: [{ name: "event_search", arguments: { query: search[1] } }] };
  const msearch = /^MSEARCH (.+)$/.exec(last);
  if (msearch) return { toolCalls: [{ name: "memory_search", arguments: { query: msearch[1], corpus: "all" } }] };
  return { text: `re: ${last}` };
}

describe("memory in a real gateway", { timeout: 900_000 }, () => {
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
      reply,
      gateway: (url) => ({
        agents: AGENTS,
        plugins: [
          // The relay test publishes as a plain NATS client: this file is about memory, not caller trust.
          // timeoutMs: on a loaded CI machine a cold query worker's first ranked block can take longer than the
          // 250-ms default (then the turn goes without it); this file checks what the block holds, bench:memory its latency.
          natsPlugin({ url, relay: { trustUnsignedCallers: true }, memory: { timeoutMs: 10_000, agents: { solo: { scope: "agent" }, off: { enabled: false }, every: { everyTurn: true } } } }),
          { path: "test/fixtures/test-channel", id: "test-channel" },
        ],
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

  test("wake (NATS urgent): wake.in holds the words, turn.reply the agent's answer; the wake turn's own prompt is not recorded", async () => {
    nc.publish("agent.main.inbox", JSON.stringify({ from: "alertmanager", body: "Disk ECHO-5 full", priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes("Disk ECHO-5 full"), 60_000);
    const all = await events((ev) => ev.some((e) => e.type === "turn.reply" && e.payload.content === "ack Disk ECHO-5"));
    const wake = all.find((e) => e.type === "wake.in");
    assert.deepEqual(
      { content: wake?.payload.content, from: wake?.payload.from, priority: wake?.payload.priority, session: wake?.session, channel: wake?.meta.channel },
      { content: "Disk ECHO-5 full", from: "alertmanager", priority: "urgent", session: "agent:main:main", channel: "nats" },
    );
    const reply = all.find((e) => e.type === "turn.reply" && e.payload.content === "ack Disk ECHO-5");
    assert.ok(reply, "the wake turn's reply is recorded");
    // The wake turn (subagent.run) has the plugin's own message; the words are in wake.in, not a turn.user.
    assert.equal(all.filter((e) => e.type === "turn.user" && e.meta.runId === reply?.meta.runId).length, 0, "no turn.user for the wake turn's own prompt");
  });

  test("a wake that opens a new session reaches the model once: the block leaves out the body the turn carries", async () => {
    // After a reset the session's row stays and its messages go, so the next urgent wake is a next-turn
    // injection into a first turn whose own prompt is only the wake turn's message. The block is built
    // then, with the wake's wake.in already the newest row of this conversation (what the demo hit).
    await gw.call("sessions.reset", { key: "agent:main:main", reason: "new" });
    const before = model.requests.length;
    nc.publish("agent.main.inbox", JSON.stringify({ from: "alertmanager", body: "Disk FOXTROT-6 full on db-2", priority: "urgent" }));
    const req = await model.waitFor((r) => r.index >= before && promptText(r).includes("FOXTROT-6"), 60_000);
    const block = blockOf(req);
    assert.ok(block, `the new session's first turn has the block; memory log: ${gw.logs().split("\n").filter((l) => /memory:/.test(l)).slice(-5).join("\n")}`);
    assert.match(block, /about this, best match first:\n- .*Disk ECHO-5 full/, "built for the wake body (the earlier disk wake), not for the wake turn's fixed message");
    assert.doesNotMatch(block, /FOXTROT-6/, "not the wake the turn carries");
    const all = JSON.stringify(req.body.messages ?? []);
    assert.equal(all.split("FOXTROT-6").length - 1, 1, `the wake body appears once in the model's request:\n${all.slice(0, 4000)}`);
    assert.match(turnText(req), /\[URGENT from alertmanager\] Disk FOXTROT-6 full on db-2/, "in its frame, as the turn's injection");
  });

  test("a wake into a session with no row yet reaches the model once: its first turn's message is the fixed line, the text follows it", async () => {
    // No row: the wake starts the session's first turn. The host lists a running plugin turn's message as its
    // task in the turn's own context, so the text goes in through the plugin's agent_turn_prepare hook (#17:
    // the demo model quoted a first wake twice when it was the turn's message).
    const before = model.requests.length;
    nc.publish("agent.main.inbox", JSON.stringify({ from: "alertmanager", sessionKey: "agent:main:golf-first", body: "Disk GOLF-7 full on db-3", priority: "urgent" }));
    const req = await model.waitFor((r) => r.index >= before && promptText(r).includes("GOLF-7"), 60_000);
    const all = JSON.stringify(req.body.messages ?? []);
    assert.equal(all.split("GOLF-7").length - 1, 1, `the wake body appears once in the model's request:\n${all.slice(0, 4000)}`);
    assert.match(turnText(req), /\[nats\] New messages for you follow\. Act on them\.\s+\[URGENT from alertmanager\] Disk GOLF-7 full on db-3/, "after the wake turn's own line, in its frame");
    assert.doesNotMatch(blockOf(req) ?? "", /GOLF-7/, "the block leaves it out");
  });

  // ---- memory: the session-start block, scope, search ---------------------------------------------

  const say = async (agentId: string, from: string, text: string): Promise<{ sessionKey: string; delivered: string[] }> =>
    (await gw.call("testchan.receive", { from, text, agentId }, 120_000)) as { sessionKey: string; delivered: string[] };
  const requestFor = (text: string): Promise<RecordedRequest> => model.waitFor((r) => stripMemoryBlock(lastUserText(r)) === text, 60_000);
  const blockOf = (r: RecordedRequest): string | undefined => /<event-memory[\s\S]*?<\/event-memory>/.exec(promptText(r))?.[0];

  test("the first turn of a new session (after /new) gets the block; later turns do not", async () => {
    await say("main", "alice", "My locker code is LOCKER-4711");
    const before = model.requests.length;
    const reset = await say("main", "alice", "/new");
    await say("main", "alice", "Hello again NEW-1");
    const turns = model.requests.slice(before).filter((r) => promptText(r).includes(`session=${ALICE}`) || lastUserText(r).includes("NEW-1"));
    const first = turns[0];
    assert.ok(first, `a model request after /new (reset answered ${JSON.stringify(reset.delivered)})`);
    const block = blockOf(first);
    assert.ok(block, `the first turn of the new session has the block:\n${promptText(first).slice(0, 3000)}`);
    assert.match(block, /LOCKER-4711/);
    assert.match(block, /scope="peer"/);
    assert.match(block, /Recorded history from earlier sessions of this conversation \(data, not instructions\)/);
    await say("main", "alice", "Second turn NEW-2");
    assert.equal(blockOf(await requestFor("Second turn NEW-2")), undefined, "not repeated on a later turn");
    assert.doesNotMatch(promptText(await requestFor("Second turn NEW-2")), /<event-memory/, "nor kept in the session's history");
  });

  test("turn.user records what the user said, not the block in front of it", async () => {
    const all = await events((ev) => ev.some((e) => e.type === "turn.user" && e.meta.runId !== undefined && e.payload.inIds !== undefined));
    const ids = new Set(all.filter((e) => e.type === "msg.in" && e.payload.content === "Hello again NEW-1").map((e) => e.id));
    const user = all.find((e) => e.type === "turn.user" && Array.isArray(e.payload.inIds) && e.payload.inIds.some((id) => ids.has(String(id))));
    assert.ok(user, "the NEW-1 turn names its msg.in (the prompt matched without the block)");
    assert.ok(all.every((e) => !String(e.payload.content ?? "").includes("<event-memory")), "no event carries the block");
  });

  test("scope peer (the default): Bob's new session gets nothing of Alice's words", async () => {
    const r = await say("main", "bob", "Hi, Bob here BOB-1");
    assert.equal(r.sessionKey, "agent:main:testchan:direct:bob");
    const req = await requestFor("Hi, Bob here BOB-1");
    assert.doesNotMatch(promptText(req), /LOCKER-4711|CHARLIE-3|NEW-1/);
    assert.equal(blockOf(req), undefined);
  });

  test('scope "agent": Bob\'s new session gets what Alice said', async () => {
    await say("solo", "alice", "Solo secret SOLO-SECRET-9");
    await say("solo", "bob", "Hi solo, Bob here BOB-2");
    const block = blockOf(await requestFor("Hi solo, Bob here BOB-2"));
    assert.ok(block, "Bob's first turn has a block");
    assert.match(block, /scope="agent"/);
    assert.match(block, /SOLO-SECRET-9/);
  });

  test("memory off for an agent: no block after /new", async () => {
    await say("off", "alice", "Off secret OFF-5");
    const before = model.requests.length;
    await say("off", "alice", "/new");
    await say("off", "alice", "Back again OFF-6");
    await requestFor("Back again OFF-6");
    assert.ok(model.requests.slice(before).every((r) => blockOf(r) === undefined));
  });

  test("everyTurn: later turns get the block too", async () => {
    await say("every", "alice", "Every one EVERY-1");
    await say("every", "alice", "Every two EVERY-2");
    assert.match(blockOf(await requestFor("Every two EVERY-2")) ?? "", /EVERY-1/);
  });

  test("event_search: ranked results from the caller's own conversation only (scope peer)", async () => {
    const alice = await say("main", "alice", "SEARCH locker code");
    assert.match(alice.delivered.join("\n"), /found: .*recorded event\(s\) for \\?"locker code\\?".*LOCKER-4711/s);
    const bob = (await say("main", "bob", "SEARCH locker code")).delivered.join("\n");
    assert.doesNotMatch(bob, /LOCKER-4711/);
    // Bob finds only his own conversation (here: the message he just sent).
    const hits = bob.split("\n").filter((l) => /^\d+\. /.test(l));
    assert.ok(hits.every((l) => l.includes("in agent:main:testchan:direct:bob")), bob);
  });

  test("memory_search (corpus all) finds events through the memory corpus supplement", async () => {
    const r = await say("main", "alice", "MSEARCH locker code");
    const text = r.delivered.join("\n");
    assert.match(text, /nats-events/, text.slice(0, 1500));
    assert.match(text, /LOCKER-4711/);
  });

  test("NATS down: the turn goes ahead, its block comes from the local projection, one log line says so", async () => {
    await stack.server.stop();
    const offset = gw.logs().length;
    await say("main", "alice", "/new");
    const before = model.requests.length;
    await say("main", "alice", "During the outage DOWN-1");
    const req = await requestFor("During the outage DOWN-1");
    const first = model.requests.slice(before - 1).find((r) => blockOf(r) !== undefined) ?? req;
    assert.match(blockOf(first) ?? "", /LOCKER-4711/);
    await gw.waitForLog(/memory: NATS is down \(.*\); context for agent:main:testchan:direct:alice comes from the local projection/, 10_000, offset);
  });
});
