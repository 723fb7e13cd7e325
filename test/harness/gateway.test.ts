import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { replyText, TestGateway } from "./gateway.ts";
import { promptText, ScriptedModel, type RecordedRequest } from "./model-server.ts";

const hasToolResult = (req: RecordedRequest): boolean => req.body.messages.some((m) => m.role === "tool");

describe("TestGateway + ScriptedModel", { timeout: 300_000 }, () => {
  let model: ScriptedModel;
  let gw: TestGateway | undefined;

  let bootMs = 0;

  before(async () => {
    model = await ScriptedModel.start();
    const t0 = Date.now();
    gw = await TestGateway.start({
      model,
      plugins: [{ path: "test/fixtures/probe-plugin", id: "probe" }],
      agents: ["main", "helper"],
      readyLog: /probe: started/,
    });
    bootMs = Date.now() - t0;
  });

  after(async () => {
    await gw?.dispose();
    await model?.close();
  });

  test("the probe plugin's service started", async (t) => {
    t.diagnostic(`gateway ready in ${bootMs} ms`);
    assert.match(await gw!.waitForLog(/probe: started/, 1_000), /probe: started/);
  });

  test("runAgent runs a real turn against the scripted model", async (t) => {
    model.reply(() => ({ text: "scripted hello back" }));
    const t0 = Date.now();
    const run = await gw!.runAgent({ sessionKey: "agent:main:main", message: "hello probe" });
    t.diagnostic(`first agent turn took ${Date.now() - t0} ms`);
    assert.equal(run.status, "ok");
    assert.equal(replyText(run), "scripted hello back");
    const req = await model.waitFor((r) => promptText(r).includes("hello probe"), 1_000);
    assert.equal(req.body.stream, true);
    await gw!.waitForLog(/probe: llm_input agent:main:main/, 5_000);
  });

  test("call() reaches a plugin gateway method", async (t) => {
    const t0 = Date.now();
    assert.deepEqual(await gw!.call("probe.echo", { x: 1 }), { x: 1 });
    t.diagnostic(`gateway call took ${Date.now() - t0} ms`);
  });

  test("a second agent runs in its own session", async () => {
    model.reply(() => ({ text: "helper here" }));
    const run = await gw!.runAgent({ sessionKey: "agent:helper:main", message: "hello helper" });
    assert.equal(replyText(run), "helper here");
    await gw!.waitForLog(/probe: llm_input agent:helper:main/, 5_000);
    const req = await model.waitFor((r) => promptText(r).includes("hello helper"), 1_000);
    assert.match(promptText(req), /session=agent:helper:main/);
  });

  test("a scripted tool call round-trips through the probe's tool", async () => {
    model.reply((req) =>
      hasToolResult(req) ? { text: "tool answered" } : { toolCalls: [{ name: "probe_echo", arguments: { text: "ping" } }] },
    );
    const firstIndex = model.requests.length;
    const run = await gw!.runAgent({ sessionKey: "agent:main:main", message: "use the probe tool" });
    assert.equal(replyText(run), "tool answered");
    const first = model.requests[firstIndex];
    assert.ok(first?.body.tools?.some((t) => t.function.name === "probe_echo"), "probe_echo offered to the model");
    const followUp = await model.waitFor((r) => r.index > firstIndex && hasToolResult(r), 1_000);
    const toolMsg = followUp.body.messages.find((m) => m.role === "tool");
    assert.equal(toolMsg?.content, "PROBE-ECHO:ping");
    assert.equal(model.countMatching((r) => r.index >= firstIndex), 2);
  });

  test("kill -9 then restart comes back on the same port and state", async (t) => {
    const { port, stateDir } = gw!;
    await gw!.kill();
    const t0 = Date.now();
    await gw!.restart();
    t.diagnostic(`restart took ${Date.now() - t0} ms`);
    assert.equal(gw!.port, port);
    assert.equal(gw!.stateDir, stateDir);
    assert.deepEqual(await gw!.call("probe.echo", { again: true }), { again: true });
  });
});

describe("ScriptedModel", () => {
  test("answers non-streaming requests and GET /v1/models; waitFor times out with a listing", async () => {
    const model = await ScriptedModel.start();
    try {
      model.reply(() => ({ text: "plain", toolCalls: [{ name: "t", arguments: { a: 1 } }] }));
      const res = await fetch(`${model.baseUrl}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: [{ type: "text", text: "hi there" }] }] }),
      });
      const body = (await res.json()) as { choices: Array<{ message: { content: string; tool_calls: unknown[] }; finish_reason: string }> };
      assert.equal(body.choices[0]?.message.content, "plain");
      assert.equal(body.choices[0]?.finish_reason, "tool_calls");
      assert.equal(body.choices[0]?.message.tool_calls.length, 1);
      assert.equal(promptText(model.requests[0]!), "hi there");
      const models = (await (await fetch(`${model.baseUrl}/models`)).json()) as { data: Array<{ id: string }> };
      assert.equal(models.data[0]?.id, "echo");
      await assert.rejects(model.waitFor((r) => promptText(r).includes("never"), 50), /received 1:[\s\S]*hi there/);
    } finally {
      await model.close();
    }
  });

  test("streams SSE chunks like OpenAI", async () => {
    const model = await ScriptedModel.start();
    try {
      model.reply(() => ({ toolCalls: [{ name: "probe_echo", arguments: { text: "x" } }] }));
      const res = await fetch(`${model.baseUrl}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "echo", stream: true, messages: [{ role: "user", content: "go" }] }),
      });
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      const events = (await res.text()).split("\n\n").filter(Boolean);
      assert.equal(events.at(-1), "data: [DONE]");
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)) as { choices: Array<{ finish_reason: string | null }>; usage?: object });
      assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "tool_calls");
      assert.ok(chunks.at(-1)?.usage);
    } finally {
      await model.close();
    }
  });
});
