import { test } from "node:test";
import assert from "node:assert/strict";
import { hookEnabled, llmInput, llmOutput, messageIn, runEnd, toolCall, toolResult } from "./mapping.ts";

const capture = { llmContent: false, messageContent: true, toolContent: false, maxToolContentBytes: 64 };
const ctx = { agentId: "main", sessionKey: "agent:main:main", runId: "r1", modelId: "echo" };

test("LLM events carry metadata only by default, content with capture.llmContent", () => {
  const e = { runId: "r1", provider: "fake", model: "echo", systemPrompt: "SYS SECRET", prompt: "USER SECRET", historyMessages: [1, 2], imagesCount: 0, tools: [1] };
  const meta = llmInput(e, ctx, capture);
  assert.equal(meta.type, "llm.input");
  assert.deepEqual(meta.payload, { provider: "fake", model: "echo", promptLength: 11, systemPromptLength: 10, historyCount: 2, imagesCount: 0, toolsCount: 1 });
  assert.ok(!JSON.stringify(meta).includes("SECRET"));
  assert.equal(llmInput(e, ctx, { ...capture, llmContent: true }).payload.prompt, "USER SECRET");
  const out = llmOutput({ runId: "r1", provider: "fake", model: "echo", assistantTexts: ["REPLY SECRET"], usage: { input: 3, output: 4 } }, ctx, capture);
  assert.deepEqual(out.payload, { provider: "fake", model: "echo", textsCount: 1, textLength: 12, usage: { input: 3, output: 4 } });
});

test("message content is kept by default and can be turned off", () => {
  const e = { from: "telegram:1", content: "hello" };
  assert.equal(messageIn(e, { channelId: "telegram", sessionKey: "agent:ops:telegram:direct:1" }, capture).payload.content, "hello");
  const off = messageIn(e, { channelId: "telegram", sessionKey: "agent:ops:telegram:direct:1" }, { ...capture, messageContent: false });
  assert.deepEqual(off.payload, { from: "telegram:1", length: 5 });
  assert.equal(off.agent, "ops");
  assert.equal(off.visibility, "public");
  assert.equal(off.meta?.channel, "telegram");
});

test("failures map to their own types and flags", () => {
  assert.equal(runEnd({ success: false, error: "boom", messages: [] }, ctx).type, "run.error");
  assert.equal(runEnd({ success: true, messages: [] }, ctx).type, "run.end");
  const t = toolResult({ toolName: "nats", error: "timed out" }, ctx, capture);
  assert.equal(t.payload.success, false);
  assert.equal(t.payload.error, "timed out");
});

test("include/exclude accept hook names or event types", () => {
  const none = { includeHooks: [], excludeHooks: [] };
  assert.ok(hookEnabled("llm_input", none));
  assert.ok(!hookEnabled("llm_input", { includeHooks: [], excludeHooks: ["llm.input"] }));
  assert.ok(!hookEnabled("llm_input", { includeHooks: [], excludeHooks: ["llm_input"] }));
  assert.ok(hookEnabled("message_received", { includeHooks: ["msg.in"], excludeHooks: [] }));
  assert.ok(!hookEnabled("llm_output", { includeHooks: ["msg.in"], excludeHooks: [] }));
  assert.ok(hookEnabled("agent_end", { includeHooks: ["run.error"], excludeHooks: [] }));
});

test("tool events carry sizes only by default; parameters and results with capture.toolContent, bounded", () => {
  const params = { action: "publish", message: "PARAM SECRET" };
  const call = toolCall({ toolName: "nats", params, toolCallId: "c1" }, ctx, capture);
  assert.deepEqual(call.payload, { tool: "nats", toolCallId: "c1", paramsBytes: JSON.stringify(params).length });
  const result = toolResult({ toolName: "nats", toolCallId: "c1", result: { text: "RESULT SECRET" }, durationMs: 5 }, ctx, capture);
  assert.deepEqual(result.payload, { tool: "nats", toolCallId: "c1", success: true, durationMs: 5, resultBytes: JSON.stringify({ text: "RESULT SECRET" }).length });
  assert.ok(!JSON.stringify([call, result]).includes("SECRET"));
  const on = { ...capture, toolContent: true };
  assert.deepEqual(toolCall({ toolName: "nats", params }, ctx, on).payload.params, params);
  assert.deepEqual(toolResult({ toolName: "nats", result: { text: "RESULT SECRET" } }, ctx, on).payload.result, { text: "RESULT SECRET" });
  const big = toolResult({ toolName: "nats", result: "x".repeat(100) }, ctx, on).payload;
  assert.deepEqual(big, { tool: "nats", success: true, resultBytes: 102, resultTruncated: true });
  assert.equal((toolResult({ toolName: "nats", error: "e".repeat(400) }, ctx, capture).payload.error as string).length, 301);
});
