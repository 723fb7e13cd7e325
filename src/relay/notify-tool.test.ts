import { test } from "node:test";
import assert from "node:assert/strict";
import { describeNotify, notifyTool } from "./notify-tool.ts";
import type { Caller, NotifyRequest, NotifyResult } from "./relay.ts";
import type { NotifyParams } from "./request.ts";

const log = { lines: [] as string[], info(m: string) { this.lines.push(m); }, warn(m: string) { this.lines.push(m); }, error(m: string) { this.lines.push(m); } };

test("the tool calls the relay as its agent, from its session", async () => {
  const calls: Array<[Caller, NotifyRequest]> = [];
  const tool = notifyTool(async (c, r) => {
    calls.push([c, r]);
    return { ok: true, method: "agent-run", status: "delivered", runId: "r1", sessionKey: r.sessionKey, channel: "telegram", to: "123" };
  }, { agentId: "broker", sessionKey: "agent:broker:main" }, log);
  const out = await tool.execute("t1", { sessionKey: "agent:s:telegram:direct:123", message: "hi" });
  assert.deepEqual(calls[0]?.[0], { id: "broker", via: "tool", auth: "in-process", sessionKey: "agent:broker:main" });
  assert.equal(out.content[0]?.text, "Delivered: the agent in agent:s:telegram:direct:123 answered and its reply went to telegram:123 (run r1).");
  assert.equal(out.details.ok, true);
});

test("bad parameters, refusals and exceptions come back as results, not throws", async () => {
  log.lines.length = 0;
  const boom = notifyTool(async () => {
    throw new Error("host gone");
  }, { agentId: "a" }, log);
  const bad = await boom.execute("t", { sessionKey: "nope", message: "x" } as NotifyParams);
  assert.equal(bad.content[0]?.text, "Error: sessionKey: must look like agent:<agentId>:<rest>");
  assert.equal(log.lines.length, 1, "a refusal is one log line");
  const thrown = await boom.execute("t", { sessionKey: "agent:b:main", message: "x" });
  assert.equal(thrown.content[0]?.text, "Error: host gone");
});

test("each outcome reads as one sentence", () => {
  const base = { ok: true, method: "agent-run", runId: "r", sessionKey: "agent:b:main" } as const;
  const cases: Array<[NotifyResult, RegExp]> = [
    [{ ...base, status: "running" }, /^Started: .* still working on it \(run r\)/],
    [{ ...base, status: "not-delivered" }, /no channel to deliver to, so the reply stayed in the session \(webchat\)/],
    [{ ok: true, method: "system-event", sessionKey: "agent:b:main", queued: true, reason: "no target" }, /^Queued as a system event in agent:b:main: no turn could be started \(no target\)/],
    [{ ok: false, kind: "forbidden", error: "not you" }, /^Error: not you$/],
  ];
  for (const [result, re] of cases) assert.match(describeNotify(result), re);
});
