import { test } from "node:test";
import assert from "node:assert/strict";
import type { EventInput } from "./envelope.ts";
import { ConversationCapture, finalReplyText } from "./conversation.ts";
import { messageIn, messageOut, messageSending } from "./mapping.ts";

const capture = { llmContent: false, messageContent: true, toolContent: false, maxToolContentBytes: 16384 };

function recorder(): { sink: { record(e: EventInput): string }; events: Array<EventInput & { id: string }> } {
  const events: Array<EventInput & { id: string }> = [];
  return {
    events,
    sink: {
      record(e: EventInput): string {
        const id = `e${events.length + 1}`;
        events.push({ ...e, id });
        return id;
      },
    },
  };
}

const assistant = (text: string) => ({ role: "assistant", content: [{ type: "text", text }] });
const user = (text: string) => ({ role: "user", content: [{ type: "text", text }] });

test("a turn without channel traffic records both sides in full", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, capture);
  const ctx = { agentId: "main", sessionKey: "agent:main:main", runId: "r1", trigger: "user" };
  turns.runStart("What is the capital of France?", ctx);
  turns.runEnd({ success: true, messages: [user("What is the capital of France?"), assistant("Paris.")] }, ctx);
  assert.deepEqual(
    events.map((e) => [e.type, e.payload.content, e.session, e.meta?.runId]),
    [
      ["turn.user", "What is the capital of France?", "agent:main:main", "r1"],
      ["turn.reply", "Paris.", "agent:main:main", "r1"],
    ],
  );
  assert.equal(events[0].payload.trigger, "user");
  assert.equal(events[1].payload.success, true);
});

test("a channel turn stores each text once: turn.user names the msg.in, msg.out names the turn.reply", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, capture);
  const key = "agent:b:telegram:direct:7";
  const msgIn = messageIn({ from: "telegram:7", content: "hi there" }, { channelId: "telegram", sessionKey: key }, capture);
  turns.messageIn(key, "hi there", sink.record(msgIn));
  const ctx = { agentId: "b", sessionKey: key, runId: "r2", trigger: "user", messageProvider: "telegram" };
  turns.runStart("hi  there", ctx);
  turns.runEnd({ success: true, messages: [user("hi there"), assistant("Hello! How can I help?")] }, ctx);
  sink.record(turns.outbound(messageSending({ to: "7", content: "Hello! How can I help?" }, { sessionKey: key }, capture), key, "Hello! How can I help?"));
  sink.record(turns.outbound(messageOut({ to: "7", content: "Hello!", success: true }, { sessionKey: key }, capture), key, "Hello!"));
  const [inEv, userEv, replyEv, sendingEv, outEv] = events;
  assert.equal(inEv.payload.content, "hi there");
  assert.deepEqual(userEv.payload, { trigger: "user", inIds: [inEv.id], length: 9 });
  assert.equal(replyEv.payload.content, "Hello! How can I help?");
  assert.deepEqual(sendingEv.payload, { to: "7", length: 22, replyId: replyEv.id });
  assert.deepEqual(outEv.payload, { to: "7", success: true, length: 6, replyId: replyEv.id }, "a chunk of the reply also refers to it");
  assert.equal(events.filter((e) => JSON.stringify(e.payload).includes("How can I help")).length, 1, "the reply text is stored once");
});

test("a message the agent sends with a tool is not a reply: msg.out keeps its text", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, capture);
  const key = "agent:b:telegram:direct:7";
  const ctx = { agentId: "b", sessionKey: key, runId: "r3" };
  turns.runStart("remind bob", ctx);
  turns.runEnd({ success: true, messages: [user("remind bob"), assistant("Done, I reminded him.")] }, ctx);
  sink.record(turns.outbound(messageOut({ to: "bob", content: "Reminder: dentist at 3", success: true }, { sessionKey: key }, capture), key, "Reminder: dentist at 3"));
  assert.equal(events.at(-1)?.payload.content, "Reminder: dentist at 3");
  // and a msg.in of another session is not claimed by this run
  turns.messageIn("agent:b:telegram:direct:8", "remind bob", "x1");
  turns.runStart("remind bob", ctx);
  assert.equal(events.at(-1)?.payload.content, "remind bob");
});

test("heartbeat prompts are the host's words, not the user's: no turn.user, the reply is kept and marked silent", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, capture);
  const ctx = { agentId: "main", sessionKey: "agent:main:main", runId: "h1", trigger: "heartbeat" };
  turns.runStart("Follow the heartbeat monitor scratch context…", ctx);
  turns.runEnd({ success: true, messages: [user("[OpenClaw session event]"), assistant("NO_REPLY")] }, ctx);
  assert.deepEqual(events.map((e) => [e.type, e.payload.silent]), [["turn.reply", true]]);
});

test("capture.messageContent false keeps lengths only", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, { ...capture, messageContent: false });
  const ctx = { agentId: "main", sessionKey: "agent:main:main" };
  turns.runStart("secret question", ctx);
  turns.runEnd({ success: true, messages: [assistant("secret answer")] }, ctx);
  assert.ok(!JSON.stringify(events).includes("secret"));
  assert.deepEqual(events.map((e) => e.payload.length), [15, 13]);
});

test("finalReplyText: the last assistant text of this run only", () => {
  assert.equal(finalReplyText([user("a"), assistant("one"), user("b"), { role: "assistant", content: [{ type: "toolCall", id: "t" }] }, { role: "toolResult", content: "x" }, assistant("two")]), "two");
  assert.equal(finalReplyText([user("a"), assistant("one"), user("b")]), undefined, "a failed run has no reply of its own");
  assert.equal(finalReplyText([{ role: "assistant", content: "plain" }]), "plain");
  assert.equal(finalReplyText([]), undefined);
});

test("this plugin's own memory block in front of the prompt is not recorded as the user's words", () => {
  const { sink, events } = recorder();
  const turns = new ConversationCapture(sink, capture);
  turns.runStart('<event-memory agent="main" scope="peer">\nRecorded history…\n</event-memory>\n\nhello again', { agentId: "main", sessionKey: "agent:main:main" });
  assert.equal(events[0].payload.content, "hello again");
});
