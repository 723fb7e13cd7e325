import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { promptText } from "../../harness/model-server.ts";
import type { Stack } from "../../harness/stack.ts";
import { until, wakeFigures } from "../../harness/wait.ts";

/** Priorities and the dead-letter path on agent main (was wake.e2e). First: it counts model calls from a quiet gateway. */
export function basicsTests(shared: () => Stack): void {
  describe("wake through a real gateway", () => {
    test("an urgent message reaches the model prompt as a system event", async () => {
      const { model, nc } = shared();
      const reply = await nc.request("agent.main.inbox", JSON.stringify({ from: "alertmanager", body: "Service X is down (urgent-1)", priority: "urgent" }), { timeout: 60_000 });
      assert.deepEqual(reply.json(), { ok: true, sessionKey: "agent:main:main", priority: "urgent", queued: true });
      const req = await model.waitFor((r) => promptText(r).includes("[URGENT from alertmanager] Service X is down (urgent-1)"), 240_000);
      assert.ok(req);
    });

    test("normal and low never start a turn; they ride along with the next wake", async () => {
      const { model, gw, nc } = shared();
      const before = model.requests.length;
      const was = await wakeFigures(gw);
      nc.publish("agent.main.inbox", JSON.stringify({ from: "cron", body: "nightly report ready (normal-1)", priority: "normal" }));
      nc.publish("agent.main.inbox", JSON.stringify({ from: "cron", body: "disk at 60% (low-1)", priority: "low" }));
      await nc.flush();
      // Both handed to the host: whether a message starts a turn is decided at that moment.
      await until(async () => (await wakeFigures(gw)).injected >= was.injected + 2, 60_000, "normal and low handed off");
      assert.equal((await wakeFigures(gw)).turns?.turns, was.turns?.turns, "no wake turn for normal or low");
      nc.publish("agent.main.inbox", JSON.stringify({ from: "pager", body: "db failover (urgent-2)", priority: "urgent" }));
      const req = await model.waitFor((r) => promptText(r).includes("db failover (urgent-2)"), 240_000);
      assert.match(promptText(req), /\[NORMAL from cron\] nightly report ready \(normal-1\)/);
      assert.match(promptText(req), /\[LOW from cron\] disk at 60% \(low-1\)/);
      assert.equal(req.index, before, "no model call for normal or low before the urgent one");
    });

    test("invalid messages land on the dead-letter subject and the sender hears why", async () => {
      const { gw, nc } = shared();
      const dlq = nc.subscribe("openclaw.nats.dlq", { max: 1 });
      const reply = await nc.request("agent.main.inbox", JSON.stringify({ from: "x", body: "y", priority: "asap" }), { timeout: 5000 });
      assert.deepEqual(reply.json(), { ok: false, error: "priority: must be one of urgent, normal, low" });
      for await (const m of dlq) assert.equal(m.json<{ reason: string }>().reason, "priority: must be one of urgent, normal, low");
      await gw.waitForLog(/nats: rejected message on agent\.main\.inbox: priority/, 5000);
    });
  });
}
