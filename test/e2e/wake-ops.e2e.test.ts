// Two gateways on one nats-server with broadcast subjects (each hosts its own agents and a shared
// one): two boots of their own because the test is about several gateways. The single-gateway
// lifecycle cases (config edit, plugins reload) run on the shared wake profile in wake-gateway.e2e.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { replies, seen, sleep } from "./wake-gateway/replies.ts";

describe("two gateways on one nats-server", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const models: ScriptedModel[] = [];
  const gws: TestGateway[] = [];

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    const hosts = [
      ["ops", "shared"],
      ["billing", "shared"],
    ];
    for (const agents of hosts) {
      const model = await ScriptedModel.start();
      models.push(model);
      gws.push(
        await TestGateway.start({
          model,
          agents,
          plugins: [natsPlugin({ url: server.url, subjects: ["agent.*.inbox", "system.broadcast"], events: { enabled: false } })],
          readyLog: /nats: subscribed to broadcast system\.broadcast/,
          timeoutMs: 300_000,
        }),
      );
    }
  });
  after(async () => {
    for (const gw of gws) await gw.dispose();
    for (const m of models) await m.close();
    await nc?.close();
    await server?.stop();
  });

  test("different agents: each message goes to the gateway hosting its agent; an agent nobody hosts gets no responders", async () => {
    const [m1, m2] = models as [ScriptedModel, ScriptedModel];
    assert.deepEqual(await replies(nc, "agent.ops.inbox", { from: "pager", body: "ops only (g-ops)", priority: "urgent" }), [{ ok: true, sessionKey: "agent:ops:main", priority: "urgent", queued: true }]);
    assert.deepEqual(await replies(nc, "agent.billing.inbox", { from: "pager", body: "billing only (g-bill)", priority: "urgent" }), [{ ok: true, sessionKey: "agent:billing:main", priority: "urgent", queued: true }]);
    await m1.waitFor((r) => promptText(r).includes("g-ops"), 180_000);
    await m2.waitFor((r) => promptText(r).includes("g-bill"), 180_000);
    assert.equal(seen(m2, "g-ops"), 0);
    assert.equal(seen(m1, "g-bill"), 0);
    await assert.rejects(nc.request("agent.ghost.inbox", JSON.stringify({ from: "pager", body: "anyone?" }), { timeout: 5000 }), /no responders/i);
  });

  test("the same agent on both: each message is handled by exactly one gateway, with one receipt", async () => {
    const [m1, m2] = models as [ScriptedModel, ScriptedModel];
    const tags = Array.from({ length: 6 }, (_, i) => `g-shared-${i}`);
    for (const tag of tags) {
      const r = await replies(nc, "agent.shared.inbox", { from: "pager", body: `shared work (${tag})`, priority: "urgent" });
      assert.equal(r.length, 1, `one receipt for ${tag}: ${JSON.stringify(r)}`);
    }
    for (const tag of tags) {
      const end = Date.now() + 120_000;
      while (seen(m1, `(${tag})`) + seen(m2, `(${tag})`) === 0 && Date.now() < end) await sleep(250);
      const by = [seen(m1, `(${tag})`) > 0, seen(m2, `(${tag})`) > 0].filter(Boolean).length;
      assert.equal(by, 1, `${tag} reached exactly one gateway's model`);
    }
  });

  test("a broadcast reaches every hosted agent's main session once, the shared agent too", async () => {
    const [m1, m2] = models as [ScriptedModel, ScriptedModel];
    const r = await replies(nc, "system.broadcast", { from: "ops-lead", body: "maintenance at 22:00 (g-bc)", priority: "urgent" });
    assert.deepEqual(r.map((x) => x.sessionKey).sort(), ["agent:billing:main", "agent:ops:main", "agent:shared:main"]);
    // Three receipts, one per agent: the shared agent was not injected by both gateways (that would be four).
    const end = Date.now() + 180_000;
    while ((seen(m1, "g-bc") === 0 || seen(m2, "g-bc") === 0) && Date.now() < end) await sleep(250);
    assert.ok(seen(m1, "g-bc") >= 1 && seen(m2, "g-bc") >= 1, "both gateways' agents took a turn");
  });
});
