import { test } from "node:test";
import assert from "node:assert/strict";
import type { Logger } from "../shared/logger.ts";
import { answerFromMessages, runWaitOf, sessionInfoOf } from "./host-runtime.ts";
import { checkOverride, Relay, type Caller } from "./relay.ts";
import type { RunWait, SessionInfo, TurnRuntime } from "./run-turn.ts";

class FakeRuntime implements TurnRuntime {
  sessions = new Map<string, SessionInfo>();
  started: Array<{ sessionKey: string; message: string; deliver: boolean }> = [];
  events: Array<{ sessionKey: string; agentId: string; text: string }> = [];
  startError: Error | undefined;
  waitResult: RunWait = { status: "ok", reply: { disposition: "visible", text: "the answer" }, delivery: "sent" };
  transcriptAnswer: string | undefined = "from the transcript";
  lookup(sessionKey: string): SessionInfo | undefined {
    return this.sessions.get(sessionKey);
  }
  async start(p: { sessionKey: string; message: string; deliver: boolean }): Promise<{ runId: string; sessionKey: string }> {
    if (this.startError) throw this.startError;
    this.started.push({ sessionKey: p.sessionKey, message: p.message, deliver: p.deliver });
    return { runId: `run-${this.started.length}`, sessionKey: p.sessionKey };
  }
  async wait(): Promise<RunWait> {
    return this.waitResult;
  }
  async lastAnswer(): Promise<string | undefined> {
    return this.transcriptAnswer;
  }
  queueSystemEvent(sessionKey: string, agentId: string, text: string): boolean {
    this.events.push({ sessionKey, agentId, text });
    return true;
  }
}

function setup(allowedTargets?: Record<string, string[]>) {
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const rt = new FakeRuntime();
  rt.sessions.set("agent:b:testchan:direct:u1", { route: { channel: "testchan", to: "u1" } });
  rt.sessions.set("agent:b:main", {});
  return { rt, lines, relay: new Relay({ allowedTargets, timeoutMs: 1000 }, rt, log) };
}

const tool: Caller = { id: "a", via: "tool", sessionKey: "agent:a:main" };

test("notify runs a delivering turn with the caller's signature and reports the route", async () => {
  const { rt, relay } = setup();
  const r = await relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "remind the client" });
  assert.deepEqual(r, { ok: true, method: "agent-run", status: "delivered", runId: "run-1", sessionKey: "agent:b:testchan:direct:u1", channel: "testchan", to: "u1", reply: "the answer" });
  assert.deepEqual(rt.started, [{ sessionKey: "agent:b:testchan:direct:u1", message: "[from a] remind the client", deliver: true }]);
});

test("an anonymous caller's message goes through unsigned", async () => {
  const { rt, relay } = setup();
  await relay.notify({ id: "http", via: "http", anonymous: true }, { sessionKey: "agent:b:main", message: "Morning check" });
  assert.equal(rt.started[0]?.message, "Morning check");
});

test("a turn whose reply had nowhere to go is reported as not delivered", async () => {
  const { rt, relay } = setup();
  rt.waitResult = { status: "ok", reply: { disposition: "visible", text: "hi" }, delivery: "failed" };
  const r = await relay.notify(tool, { sessionKey: "agent:b:main", message: "x" });
  assert.equal(r.ok && r.method === "agent-run" && r.status, "not-delivered");
  assert.equal(r.ok && r.method === "agent-run" && r.channel, undefined);
});

test("a wait that ends before the run is 'running', not an error", async () => {
  const { rt, relay } = setup();
  rt.waitResult = { status: "timeout" };
  const r = await relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "x" });
  assert.equal(r.ok && r.method === "agent-run" && r.status, "running");
});

test("when no turn can be started the message is queued as a system event and the result says so", async () => {
  const { rt, relay, lines } = setup();
  rt.startError = new Error("Delivering to Test channel requires target");
  const r = await relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "x" });
  assert.deepEqual(r, { ok: true, method: "system-event", sessionKey: "agent:b:testchan:direct:u1", queued: true, reason: "Delivering to Test channel requires target" });
  assert.deepEqual(rt.events, [{ sessionKey: "agent:b:testchan:direct:u1", agentId: "b", text: "[from a] x" }]);
  assert.match(lines.join("\n"), /queued as a system event instead/);
});

test("refusals: allowedTargets, unknown session, own session, overrides — nothing is started", async () => {
  const { rt, relay, lines } = setup({ a: ["agent:b:main"] });
  assert.deepEqual(await relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "x" }), {
    ok: false,
    kind: "forbidden",
    error: 'caller "a" may not reach agent:b:testchan:direct:u1 (relay.allowedTargets)',
  });
  const open = setup();
  assert.deepEqual(await open.relay.notify(tool, { sessionKey: "agent:b:nope", message: "x" }), { ok: false, kind: "not-found", error: "no session agent:b:nope" });
  assert.equal((await open.relay.notify(tool, { sessionKey: "agent:a:main", message: "x" })).ok, false);
  const o = await open.relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "x", channel: "telegram", to: "99" });
  assert.equal(!o.ok && o.kind, "invalid");
  assert.match(!o.ok ? o.error : "", /overrides are not supported.*testchan:u1/);
  assert.equal(rt.started.length + open.rt.started.length, 0);
  assert.equal(lines.length, 0, "refusals are logged once, by the entry point (HTTP, tool, NATS dead letter)");
});

test("an override equal to the session's route is accepted", async () => {
  assert.equal(checkOverride({ channel: "testchan", to: "u1" }, "testchan", "u1"), undefined);
  assert.equal(checkOverride({ channel: "testchan", to: "u1" }, "testchan", undefined), undefined);
  assert.match(checkOverride(undefined, "testchan", undefined) ?? "", /none \(webchat only\)/);
  const { rt, relay } = setup();
  const r = await relay.notify(tool, { sessionKey: "agent:b:testchan:direct:u1", message: "x", channel: "testchan", to: "u1" });
  assert.equal(r.ok, true);
  assert.equal(rt.started.length, 1);
});

test("ask returns the answer text, from the wait result or else the transcript", async () => {
  const { rt, relay } = setup();
  const nats: Caller = { id: "a", via: "nats" };
  assert.deepEqual(await relay.ask(nats, { sessionKey: "agent:b:main", message: "2+2?" }), { ok: true, from: "b", body: "the answer", sessionKey: "agent:b:main", runId: "run-1" });
  assert.deepEqual(rt.started[0], { sessionKey: "agent:b:main", message: "[from a] 2+2?", deliver: false });
  rt.waitResult = { status: "ok" };
  const r = await relay.ask(nats, { sessionKey: "agent:b:main", message: "again" });
  assert.equal(r.ok && r.body, "from the transcript");
});

test("ask: a timeout and a failed run are errors that say what happened", async () => {
  const { rt, relay } = setup();
  rt.waitResult = { status: "timeout" };
  const t = await relay.ask({ id: "a", via: "nats" }, { sessionKey: "agent:b:main", message: "x", timeoutMs: 250 });
  assert.deepEqual(t, { ok: false, kind: "timeout", error: "b did not answer within 250 ms (run run-1 is still going; its answer will stay in agent:b:main)" });
  rt.waitResult = { status: "error", error: "model exploded" };
  const f = await relay.ask({ id: "a", via: "nats" }, { sessionKey: "agent:b:main", message: "x" });
  assert.deepEqual(f, { ok: false, kind: "failed", error: "b could not answer: run run-2 failed: model exploded" });
  rt.startError = new Error("unknown agent id");
  const s = await relay.ask({ id: "a", via: "nats" }, { sessionKey: "agent:zz:main", message: "x" });
  assert.equal(!s.ok && s.kind, "failed");
});

test("host shapes: session entry route, wait result, transcript answer", () => {
  assert.deepEqual(sessionInfoOf({ delivery: { kind: "external", context: { channel: "testchan", to: "u1" } } }), { route: { channel: "testchan", to: "u1" } });
  assert.deepEqual(sessionInfoOf({ delivery: { kind: "none" } }), {});
  assert.deepEqual(sessionInfoOf({}), {});
  assert.deepEqual(runWaitOf({ status: "ok", terminalReply: { disposition: "visible", text: "hi" }, terminalDelivery: { status: "sent", resultCount: 1 } }), {
    status: "ok",
    reply: { disposition: "visible", text: "hi" },
    delivery: "sent",
  });
  assert.deepEqual(runWaitOf({ status: "weird" }), { status: "error" });
  const messages = [
    { role: "assistant", content: [{ type: "text", text: "old" }], __openclaw: { runId: "r0" } },
    { role: "user", content: "q" },
    { role: "assistant", content: [{ type: "toolCall" }, { type: "text", text: "new " }, { type: "text", text: "answer" }], __openclaw: { runId: "r1" } },
  ];
  assert.equal(answerFromMessages(messages, "r1"), "new answer");
  assert.equal(answerFromMessages(messages, "r0"), "old");
  assert.equal(answerFromMessages(messages, "r9"), undefined);
});
