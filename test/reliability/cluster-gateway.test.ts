import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startCluster, type NatsServer } from "../harness/nats-server.ts";
import { markerTurns } from "../harness/turns.ts";
import { integrityProblems, readStream, retry, waitFor } from "./helpers.ts";

// A node loss through a real gateway on a real 3-node cluster, every plugin stream R3. Its own gateway
// boot (no existing file's gateway fits): it needs a cluster profile — `url` listing three nodes,
// `replicas: 3`, a durable inbox and the agent protocol — and it SIGKILLs nodes under that gateway.

const WAKES = 16;
const EVERY_MS = 300;

describe("a 3-node cluster under a real gateway, every stream R3", () => {
  let nodes: NatsServer[];
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;

  before(async () => {
    nodes = await startCluster(3);
    const url = nodes.map((n) => n.url).join(",");
    nc = await connect({ servers: nodes.map((n) => n.url), reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    // The gateway provisions R3 streams at start: wait for the JetStream meta leader first.
    await retry("a JetStream meta leader", async () => {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
      await jsm.streams.delete("probe");
    });
    model = await ScriptedModel.start();
    gw = await TestGateway.start({
      model,
      plugins: [natsPlugin({ url, replicas: 3, inbox: { durable: true }, reconnect: { delayMs: 200, maxDelayMs: 1000 }, agentProtocol: { enabled: true, owner: "acme", heartbeatIntervalS: 2, keepAliveS: 1 } })],
      readyLog: /durable inbox OPENCLAW_INBOX\/openclaw-gateway-main consuming/,
      timeoutMs: 300_000,
    });
  });
  after(async () => {
    await nc?.close();
    await gw?.dispose();
    await model?.close();
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  const jsmNow = () => retry("jetstream", () => jetstreamManager(nc, { timeout: 2000 }));

  test("SIGKILL of the inbox leader mid-run: every wake accepted, each reaches the model once, events once, $SRV.PING answers; the node's return duplicates nothing", async (t) => {
    const jsm = await jsmNow();
    for (const s of ["OPENCLAW_INBOX", "OPENCLAW_DLQ", "openclaw-events"]) {
      const info = await retry(`stream ${s}`, () => jsm.streams.info(s));
      assert.equal(info.config.num_replicas, 3, `${s} is R3`);
    }
    const leaderName = (await jsm.streams.info("OPENCLAW_INBOX")).cluster?.leader ?? "";
    const leader = nodes[Number(leaderName.slice(1)) - 1];
    assert.ok(leader, `inbox leader ${leaderName}`);

    const js = jetstream(nc, { timeout: 2000 });
    const markers = Array.from({ length: WAKES }, (_, i) => `clw-${String(i).padStart(2, "0")}`);
    const acceptMs: number[] = [];
    let killedAt = -1;
    for (const [i, m] of markers.entries()) {
      if (i === WAKES / 2) {
        await leader.kill();
        killedAt = i;
      }
      const started = performance.now();
      // A publisher that retries on the surviving nodes, the same msgID each time (stored once).
      await retry(`wake ${m} accepted`, () => js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: `wake ${m}`, priority: "urgent" }), { msgID: m }), 20_000);
      acceptMs.push(Math.round(performance.now() - started));
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
    t.diagnostic(`killed ${leaderName} before wake ${killedAt}; accept times (ms): ${acceptMs.join(" ")}`);

    await waitFor("every wake reaches the model", () => markerTurns(model.requests, markers).firstTurn.size === WAKES, 120_000);
    // Let redeliveries (ack wait 30 s is the default; any lost ack shows within a few turns) have their chance.
    await waitFor("inbox drained", async () => (await (await jsmNow()).streams.info("OPENCLAW_INBOX")).state.messages === 0, 60_000);
    const seen = markerTurns(model.requests, markers);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to the agent once`);

    // $SRV.PING of the agent protocol answers again (the plugin reconnected to a surviving node).
    await retry("$SRV.PING.agents answers", async () => {
      const r = await nc.request("$SRV.PING.agents", "", { timeout: 1000 });
      assert.ok(r.data.length > 0);
    });

    await leader.restart();
    await waitFor("the node catches up", async () => {
      const i = await (await jsmNow()).streams.info("OPENCLAW_INBOX");
      return (i.cluster?.replicas ?? []).length === 2 && (i.cluster?.replicas ?? []).every((r) => r.current);
    }, 60_000);
    const before = model.requests.length;
    // One more urgent wake: a turn that would carry anything the returned node handed out again.
    await retry("wake after return", () => js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: "wake clw-after", priority: "urgent" }), { msgID: "clw-after" }));
    await waitFor("the last wake reaches the model", () => markerTurns(model.requests.slice(before), ["clw-after"]).firstTurn.size === 1, 60_000);
    const again = markerTurns(model.requests, markers);
    for (const m of markers) assert.equal(again.timesSeen.get(m), 1, `${m} still once after the node returned`);

    // The R3 event stream holds every turn's events once (no duplicate id, ids = Nats-Msg-Id) and each wake's turn is in it.
    // (The per-session meta.seq order check is the reliability producer's; gateway events carry no meta.seq.)
    const stored = await retry("reading the event stream", () => readStream(nc, "openclaw-events"));
    assert.deepEqual(integrityProblems(stored).filter((p) => !p.includes("meta.seq")), []);
    const text = stored.map((e) => JSON.stringify(e.event)).join("\n");
    for (const m of markers) assert.ok(text.includes(m), `${m}'s turn is in the event stream`);
    t.diagnostic(`events stored: ${stored.length}; model requests: ${model.requests.length}`);
  });

  test("SIGKILL of the node the gateway is connected to: the plugin reconnects to a survivor, every wake accepted and handed over once", async (t) => {
    type Status = { connection: { server?: string; connected: boolean; reconnects: number } };
    const status = async () => (await gw.call("nats.status")) as Status;
    const first = (await status()).connection;
    const victim = nodes.find((n) => (first.server ?? "").endsWith(`:${n.port}`));
    assert.ok(victim, `the gateway is connected to ${first.server}`);

    const js = jetstream(nc, { timeout: 2000 });
    const markers = Array.from({ length: 8 }, (_, i) => `cln-${String(i).padStart(2, "0")}`);
    const acceptMs: number[] = [];
    for (const [i, m] of markers.entries()) {
      if (i === 3) await victim.kill();
      const started = performance.now();
      await retry(`wake ${m} accepted`, () => js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: `wake ${m}`, priority: "urgent" }), { msgID: m }), 20_000);
      acceptMs.push(Math.round(performance.now() - started));
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
    await waitFor("every wake reaches the model", () => markerTurns(model.requests, markers).firstTurn.size === markers.length, 120_000);
    const after = (await status()).connection;
    t.diagnostic(`gateway was on ${first.server}, now ${after.server} (reconnects ${after.reconnects}); accept times (ms): ${acceptMs.join(" ")}`);
    assert.equal(after.connected, true);
    assert.notEqual(after.server, first.server, "reconnected to a surviving node");
    await retry("$SRV.PING.agents answers", async () => {
      assert.ok((await nc.request("$SRV.PING.agents", "", { timeout: 1000 })).data.length > 0);
    });
    await victim.restart();
    await waitFor("inbox drained", async () => (await (await jsmNow()).streams.info("OPENCLAW_INBOX")).state.messages === 0, 60_000);
    const seen = markerTurns(model.requests, markers);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to the agent once`);
  });
});
