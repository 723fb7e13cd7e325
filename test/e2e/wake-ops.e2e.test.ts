import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { wakeFigures } from "../harness/wait.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every reply to one request: the first may take long on a loaded machine (the receipt follows the
 * host's commit), then any further one (a doubled subscription) within `stallMs`; [] for "no responders".
 */
async function replies(nc: NatsConnection, subject: string, body: Record<string, unknown>, stallMs = 5000): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  try {
    for await (const m of await nc.requestMany(subject, JSON.stringify(body), { strategy: "stall", stall: stallMs, maxWait: 180_000 })) {
      if (m.data.length === 0) break;
      out.push(m.json());
    }
  } catch (err) {
    if (!/no responders/i.test(String(err))) throw err;
  }
  return out;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;
const seen = (model: ScriptedModel, text: string) => model.countMatching((r) => promptText(r).includes(text));

describe("lifecycle: a config edit and `openclaw plugins reload nats` in a running gateway", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gateway: (url) => ({ plugins: [natsPlugin({ url, events: { enabled: false } })], readyLog: /nats: subscribed to agent\.\*\.inbox/, timeoutMs: 300_000 }),
    });
  });
  after(() => stack?.stop());

  test("after editing subjects the new subject wakes, the old one has no responder, nothing is doubled", async () => {
    const { gw, nc, model } = stack;
    assert.equal((await replies(nc, "agent.main.inbox", { from: "ops", body: "before the edit (lc-0)", priority: "urgent" })).length, 1);
    await model.waitFor((r) => promptText(r).includes("lc-0"), 180_000);

    const from = gw.logs().length;
    const cfg = JSON.parse(readFileSync(gw.configPath, "utf8")) as { plugins: { entries: { nats: { config: Record<string, unknown> } } } };
    cfg.plugins.entries.nats.config.subjects = ["team.*.inbox"];
    writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
    await gw.waitForLog(/nats: subscribed to team\.\*\.inbox/, 120_000, from);

    const r = await replies(nc, "team.main.inbox", { from: "ops", body: "after the edit (lc-1)", priority: "urgent" });
    assert.deepEqual(r, [{ ok: true, sessionKey: "agent:main:main", priority: "urgent", queued: true }], "one receipt: one subscription");
    const q = await model.waitFor((q) => promptText(q).includes("lc-1"), 180_000);
    assert.equal(occurrences(promptText(q), "after the edit (lc-1)"), 1, "injected once");
    const was = await wakeFigures(gw);
    assert.deepEqual(await replies(nc, "agent.main.inbox", { from: "ops", body: "old subject (lc-x)" }), [], "the old subject is gone: no responders");
    // Nothing took it in either (a subscription without a queue group would count it as received).
    assert.equal((await wakeFigures(gw)).received, was.received, "not received");
    assert.equal(seen(model, "lc-x"), 0);
  });

  test("`openclaw plugins reload nats` leaves one working subscription", async () => {
    const { gw, nc, model } = stack;
    const from = gw.logs().length;
    const run = await gw.openclaw(["plugins", "reload", "nats", "--json"], 180_000);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    await gw.waitForLog(/nats: subscribed to team\.\*\.inbox/, 120_000, from).catch(() => undefined);
    await sleep(2000);
    const r = await replies(nc, "team.main.inbox", { from: "ops", body: "after plugins reload (lc-2)", priority: "urgent" });
    assert.equal(r.length, 1, `exactly one receipt, got ${JSON.stringify(r)}`);
    const q = await model.waitFor((q) => promptText(q).includes("lc-2"), 180_000);
    assert.equal(occurrences(promptText(q), "after plugins reload (lc-2)"), 1, "injected once");
  });
});

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
