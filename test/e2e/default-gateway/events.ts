import { test } from "node:test";
import assert from "node:assert/strict";
import { readEvents } from "../../harness/event-stream.ts";
import type { Stack } from "../../harness/stack.ts";

export function eventTests(shared: () => Stack): void {
test("a scripted turn with a tool call is recorded in order on openclaw.events.main.>", async () => {
  const { gw, nc, model } = shared();
  // First call: the nats tool; after its result: a final text.
  model.reply((req) => {
    const sawResult = (req.body.messages ?? []).some((m) => m.role === "tool");
    return sawResult ? { text: "done (events-e2e)" } : { toolCalls: [{ name: "nats", arguments: { action: "publish", subject: "system.audit", message: "secret-tool-arg" } }] };
  });
  const secret = "PROMPT-SECRET-4711";
  await gw.runAgent({ sessionKey: "agent:main:main", message: `please audit ${secret}` });
  const describe = async (): Promise<string> =>
    `status: ${JSON.stringify(await gw.call("nats.status"))}\n${gw.logs().split("\n").filter((l) => /nats|events|spool/i.test(l)).slice(-20).join("\n")}`;
  const events = await readEvents(nc, "openclaw.events.main.>", (ev) => ev.some((e) => e.type === "run.end") && ev.some((e) => e.type === "llm.output"), 30_000, describe);
  const types = events.filter((e) => e.session === "agent:main:main").map((e) => e.type);
  // The host fires llm_output once per run, after agent_end; the ordering below is the host's.
  const order = ["session.start", "run.start", "llm.input", "tool.call", "tool.result", "run.end"];
  let at = -1;
  for (const t of order) {
    const i = types.indexOf(t, at + 1);
    assert.ok(i > at, `${t} after position ${at} in ${types.join(", ")}`);
    at = i;
  }
  assert.ok(types.includes("llm.output"), `llm.output recorded: ${types.join(", ")}`);
  const toolCall = events.find((e) => e.type === "tool.call");
  assert.equal(toolCall?.payload.tool, "nats");
  const llm = events.filter((e) => e.type.startsWith("llm."));
  assert.ok(llm.length >= 2);
  for (const e of llm) assert.ok(!JSON.stringify(e).includes(secret), `LLM event carries no prompt text: ${JSON.stringify(e).slice(0, 300)}`);
  assert.equal(new Set(events.map((e) => e.id)).size, events.length, "ids unique");
  const status = await gw.call("nats.status");
  assert.equal((status.connection as { connected: boolean }).connected, true);
  assert.equal((status.events as { stream: string }).stream, "openclaw-events");
});
}
