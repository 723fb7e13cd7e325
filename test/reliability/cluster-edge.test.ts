import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager, RetentionPolicy, type StreamInfo } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { parseConfig } from "../../src/config/parse.ts";
import { inboxStreamConfig } from "../../src/wake/layout.ts";
import { freePort } from "../harness/free-port.ts";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startCluster, startLeaf, type NatsServer } from "../harness/nats-server.ts";
import { TcpProxy } from "../harness/tcp-proxy.ts";
import { markerTurns } from "../harness/turns.ts";
import { retry, waitFor } from "./helpers.ts";
import { jsmNow, markers as markerList, pause, publishAccepted } from "./cluster/context.ts";

// The edge site of docs/cluster.md ("Edge sites on leaf nodes") on real servers: a 3-node hub cluster
// (JetStream domain "hub") and a leaf nats-server with its own JetStream (domain "edge") joined to the
// hub's n1 through a TCP relay the test cuts and heals (a broken uplink, neither server restarted). A
// gateway on the leaf hosts agent edge with its streams in domain edge (`jetstreamDomain`). The hub
// keeps wakes for the site in EDGE_WAKES (R3, agent.edge.>); the edge's inbox sources it across the link.
//
// One gateway boot, needed: no other file's gateway is on a leaf node in another JetStream domain.
// The hub needs no gateway: its publishers are this test's client.

const EDGE_WAKES = "EDGE_WAKES";
const SUBJECT = "agent.edge.inbox";
const EDGE_CONFIG = { jetstreamDomain: "edge", subjects: [SUBJECT], defaultAgent: "edge", inbox: { durable: true }, reconnect: { delayMs: 200, maxDelayMs: 1000 } };

describe("a gateway on a leaf node (JetStream domain edge) joined to a 3-node hub (domain hub)", () => {
  let nodes: NatsServer[];
  let hubNc: NatsConnection;
  let link: TcpProxy;
  let leaf: NatsServer;
  let leafNc: NatsConnection;
  let model: ScriptedModel;
  let gw: TestGateway;

  before(async () => {
    // The hub's leaf port sits behind a relay the test cuts; the hub advertises the relay's address
    // (a leaf dials whatever address it is told, which would go around the relay).
    const relayPort = await freePort();
    nodes = await startCluster(3, { domain: "hub", leafNodes: true, leafAdvertise: `127.0.0.1:${relayPort}` });
    hubNc = await connect({ servers: nodes.map((n) => n.url), reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    // EDGE_WAKES is R3: wait for the JetStream meta leader first.
    await retry("a JetStream meta leader", async () => {
      const jsm = await jetstreamManager(hubNc, { timeout: 2000 });
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
      await jsm.streams.delete("probe");
    });
    // The hub keeps the edge site's wakes (docs/cluster.md: what the operator creates for an edge site).
    await (await jetstreamManager(hubNc)).streams.add({ name: EDGE_WAKES, subjects: ["agent.edge.>"], num_replicas: 3, retention: RetentionPolicy.Limits, max_age: nanos(24 * 3_600_000), duplicate_window: nanos(120_000) });

    link = await TcpProxy.start(nodes[0]!.leafPort!, relayPort);
    // Wakes for the edge agent and the plugin's own subjects stay on their side of the link: the hub's
    // wakes for edge go through EDGE_WAKES (sourced), and each side's events and dead letters stay in its own streams.
    leaf = await startLeaf({ name: "edge1", domain: "edge", hubLeafUrl: `nats-leaf://127.0.0.1:${link.port}`, deny: ["agent.edge.>", "openclaw.>"] });
    leafNc = await connect({ servers: leaf.url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    // The edge's inbox as the plugin creates it, plus the source from the hub (the operator's step: the
    // plugin keeps a source it finds on its inbox).
    await (await jetstreamManager(leafNc, { domain: "edge" })).streams.add({ ...inboxStreamConfig(parseConfig(EDGE_CONFIG)), sources: [{ name: EDGE_WAKES, domain: "hub" }] });

    model = await ScriptedModel.start();
    gw = await TestGateway.start({ model, agents: ["edge"], plugins: [natsPlugin({ url: leaf.url, ...EDGE_CONFIG })], readyLog: /durable inbox OPENCLAW_INBOX\/openclaw-gateway-edge consuming/, timeoutMs: 300_000 });
  });
  after(async () => {
    await hubNc?.close();
    await leafNc?.close();
    await gw?.dispose();
    await model?.close();
    await link?.close();
    await leaf?.stop();
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  test("hub wakes reach the edge agent; link cut: local wakes still work, hub durable wakes wait on the hub; healed: each wake reaches the agent once", async (t) => {
    const hubJs = jetstream(hubNc, { timeout: 2000 });
    const leafJs = jetstream(leafNc, { timeout: 2000 });
    // The edge's JetStream, seen from the hub through the link (its domain's API).
    const edgeInbox = async (): Promise<StreamInfo> => (await jetstreamManager(hubNc, { domain: "edge", timeout: 1000 })).streams.info("OPENCLAW_INBOX");
    const edgeReachable = async (): Promise<boolean> => {
      const ok = await edgeInbox().then(() => true, () => false);
      await pause(200);
      return ok;
    };
    const heldOnHub = async (): Promise<number> => (await (await jsmNow(hubNc)).streams.info(EDGE_WAKES)).state.messages;

    // The plugin kept the operator's source on its inbox and made its other streams on the leaf.
    const inbox = await (await jetstreamManager(leafNc)).streams.info("OPENCLAW_INBOX");
    assert.deepEqual(inbox.config.sources?.map((s) => s.name), [EDGE_WAKES], "the edge inbox still sources EDGE_WAKES");
    for (const s of ["OPENCLAW_DLQ", "openclaw-events"]) await retry(`${s} on the leaf`, () => jetstreamManager(leafNc).then((j) => j.streams.info(s)));
    await assert.rejects((await jsmNow(hubNc)).streams.info("openclaw-events"), /stream not found/, "no event stream on the hub");
    await waitFor("the hub reaches the edge's JetStream", edgeReachable, 60_000);

    // 1. Link up: wakes published on the hub reach the edge agent.
    const fromHub = markerList("edge-hub", 3);
    for (const m of fromHub) await publishAccepted(hubJs, SUBJECT, m);
    await waitFor("hub wakes reach the edge agent", () => markerTurns(model.requests, fromHub).firstTurn.size === fromHub.length, 90_000);

    // 2. Link cut: hub durable wakes are stored (acked) on the hub and wait; local wakes still run.
    await link.cut();
    await waitFor("the hub no longer reaches the edge", async () => !(await edgeReachable()), 30_000);
    const waiting = markerList("edge-held", 3);
    const heldBefore = await heldOnHub();
    for (const m of waiting) await publishAccepted(hubJs, SUBJECT, m);
    assert.equal(await heldOnHub(), heldBefore + waiting.length, "the hub holds the durable wakes");
    const local = markerList("edge-local", 3);
    for (const m of local) await publishAccepted(leafJs, SUBJECT, m);
    await waitFor("local wakes reach the edge agent while the link is cut", () => markerTurns(model.requests, local).firstTurn.size === local.length, 90_000);
    // The local turns ran after the hub's wakes were stored: those did not cross the cut link.
    assert.equal(markerTurns(model.requests, waiting).firstTurn.size, 0, "hub wakes wait while the link is cut");

    // 3. Healed: the source resumes from its last sequence; each wake reaches the agent once.
    await link.heal();
    await waitFor("the waiting hub wakes reach the edge agent", () => markerTurns(model.requests, waiting).firstTurn.size === waiting.length, 120_000);
    await waitFor("the edge inbox drained", async () => {
      if ((await edgeInbox().catch(() => undefined))?.state.messages === 0) return true;
      await pause(200);
      return false;
    }, 60_000);
    // One more wake from the hub and one local: turns that would carry anything handed out again.
    const last = ["edge-hub-last", "edge-local-last"];
    await publishAccepted(hubJs, SUBJECT, last[0]!);
    await publishAccepted(leafJs, SUBJECT, last[1]!);
    await waitFor("the last wakes reach the edge agent", () => markerTurns(model.requests, last).firstTurn.size === last.length, 90_000);
    const all = [...fromHub, ...waiting, ...local, ...last];
    const seen = markerTurns(model.requests, all);
    for (const m of all) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to the edge agent once`);
    const final = await edgeInbox();
    t.diagnostic(`edge inbox: ${final.state.last_seq} stored (${final.sources?.map((s) => `${s.name} lag ${s.lag}`).join(", ")}); model requests ${model.requests.length}`);
  });
});
