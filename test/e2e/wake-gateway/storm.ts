import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import type { ModelReply, RecordedRequest } from "../../harness/model-server.ts";
import type { Stack } from "../../harness/stack.ts";
import { followsToolResult, inOrder, markerTurns, turnText } from "../../harness/turns.ts";
import { wakeFigures } from "../../harness/wait.ts";
import { sleep } from "./replies.ts";

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

const afterTool = followsToolResult;

/**
 * Agents "a" and "b" answer every "[URGENT from x] ping-pong" by sending ping-pong back to x, urgent,
 * through the nats tool: without a hop limit they would wake each other forever.
 */
function script(req: RecordedRequest): ModelReply {
  if (afterTool(req) !== undefined) return { text: "done" };
  const text = turnText(req);
  const froms = [...text.matchAll(/\[URGENT from ([a-z]+)\] ping-pong/g)];
  const from = froms.at(-1)?.[1];
  if (from) return { toolCalls: [{ name: "nats", arguments: { action: "publish", to: from, message: "ping-pong", priority: "urgent" } }] };
  return { text: "ok" };
}

/** Storms, bursts and hop loops on agents storm, burst, a and b (was wake-storm.e2e). */
export function stormTests(shared: () => Stack): void {
  describe("storms and loops through a real gateway", () => {
    let stack: Stack;
    before(() => {
      stack = shared();
      stack.model.reply(script); // "ok" to everything but the a/b ping-pong
    });

    test("30 urgent messages for one agent within a minute all reach the model, each once, in order", async () => {
      const markers = Array.from({ length: 30 }, (_, i) => `storm-${String(i).padStart(2, "0")}`);
      const from = stack.model.requests.length;
      for (const m of markers) {
        stack.nc.publish("agent.storm.inbox", JSON.stringify({ from: "alertmanager", body: `alert ${m}`, priority: "urgent" }));
        await sleep(1000);
      }
      const mine = () => stack.model.requests.slice(from);
      await until(() => markerTurns(mine(), markers).firstTurn.size === markers.length, 300_000, "all 30 reach the model");
      const seen = markerTurns(mine(), markers);
      for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} seen once`);
      assert.ok(inOrder(mine(), markers), "in order");
      process.stderr.write(`  storm: 30 urgent messages in ${seen.turns.size} turns\n`);
      assert.ok(seen.turns.size <= 30);
      const status = (await stack.gw.call("nats.status")) as { wake: { turns: { coalesced: number; turns: number } } };
      assert.equal(typeof status.wake.turns.coalesced, "number");
    });

    test("a burst of 100 urgent messages on core NATS reaches the model in full, in order, in few turns", async () => {
      const markers = Array.from({ length: 100 }, (_, i) => `burst-${String(i).padStart(3, "0")}`);
      const from = stack.model.requests.length;
      for (const m of markers) stack.nc.publish("agent.burst.inbox", JSON.stringify({ from: "flood", body: `event ${m}`, priority: "urgent" }));
      await stack.nc.flush();
      const mine = () => stack.model.requests.slice(from);
      await until(() => markerTurns(mine(), markers).firstTurn.size === markers.length, 300_000, "all 100 reach the model");
      const seen = markerTurns(mine(), markers);
      for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} seen once`);
      assert.ok(inOrder(mine(), markers), "in order");
      process.stderr.write(`  burst: 100 urgent messages in ${seen.turns.size} turns\n`);
      assert.ok(seen.turns.size <= 10, `few turns (${seen.turns.size})`);
    });

    test("two agents waking each other through the nats tool stop at maxHops with a clear error", async () => {
      const from = stack.model.requests.length;
      const was = await wakeFigures(stack.gw);
      stack.nc.publish("agent.a.inbox", JSON.stringify({ from: "b", body: "ping-pong", priority: "urgent" }));
      const refused = await stack.model.waitFor((r) => r.index >= from && /hop 5 of a chain of agent messages \(maxHops 4\)/.test(afterTool(r) ?? ""), 300_000);
      assert.ok(refused);
      // The chain ends: the refused send never reached NATS, so the plugin received the first message
      // and the four sends before it, and no fifth send is left to wake anybody.
      const now = await wakeFigures(stack.gw);
      assert.equal(now.received - was.received, 5, "1 message + 4 sends; the 5th send is refused before it is published");
      const pingPongTurns = stack.model.requests.slice(from).filter((r) => afterTool(r) === undefined && /ping-pong/.test(turnText(r))).length;
      assert.equal(pingPongTurns, 5, "a, b, a, b, a: the fifth send is refused");
    });

    test("an inbound message past maxHops is refused: error reply, DLQ copy with the reason, log line", async () => {
      const dlq = stack.nc.subscribe("openclaw.nats.dlq", { max: 1 });
      const h = headers();
      h.set("OpenClaw-Hops", "5");
      const reply = await stack.nc.request("agent.a.inbox", JSON.stringify({ from: "b", body: "looping", priority: "urgent" }), { timeout: 60_000, headers: h });
      const r = reply.json<{ ok: boolean; error: string }>();
      assert.equal(r.ok, false);
      assert.match(r.error, /hop limit reached: this message is hop 5, maxHops is 4/);
      for await (const m of dlq) assert.match(m.json<{ reason: string }>().reason, /hop limit reached/);
      await stack.gw.waitForLog(/rejected message on agent\.a\.inbox: hop limit reached/, 10_000);
    });
  });
}
