import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { readStream as readReply, streamV3 } from "../harness/agent-protocol-clients.ts";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { markerTurns, turnText } from "../harness/turns.ts";
import { retry, waitFor } from "./helpers.ts";
import { caughtUp, EVERY_MS, HUB_READY, hubPluginConfig, jsmNow, markers as markerList, nodeOf, pause, publishAccepted, readyCluster, type Cluster, type Site } from "./cluster/context.ts";

// Two gateways (A and B) on different nodes of a real 3-node cluster host the same agent, main: they
// share main's durable consumer and its agent-protocol queue group. B's machine dies — B's gateway and
// B's node, both SIGKILLed — and A goes on serving main's wakes and prompts.
//
// Two gateway boots, both needed: the case is about two gateways at once, and no other file's gateway
// can be one of them (cluster-gateway.test.ts's A kills nodes under itself in its own cases; sharing it
// would put this case's gateway and node deaths in front of those). B boots once A is up, pointed at
// the nodes A is not on, so the two are on different nodes whatever the client's random server order.

const PROMPT = "agents.prompt.oc.acme.main";
const CONSUMER = "openclaw-gateway-main";

/** The ids of the agent-protocol service instances answering `$SRV.PING.agents` within a second. */
async function pingIds(nc: NatsConnection): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const m of await nc.requestMany("$SRV.PING.agents", "", { maxWait: 1000 })) ids.add((m.json() as { id: string }).id);
  return ids;
}

describe("two gateways on a 3-node cluster hosting one agent, every stream R3", () => {
  const c = {} as Cluster & { b: Site };

  before(async () => {
    Object.assign(c, await readyCluster());
    const [modelA, modelB] = await Promise.all([ScriptedModel.start(), ScriptedModel.start()]);
    const url = c.nodes.map((n) => n.url).join(",");
    c.a = { model: modelA!, gw: await TestGateway.start({ model: modelA!, plugins: [natsPlugin(hubPluginConfig(url))], readyLog: HUB_READY, timeoutMs: 300_000 }) };
    const onA = await nodeOf(c.a.gw, c.nodes);
    const others = c.nodes.filter((n) => n !== onA).map((n) => n.url).join(",");
    c.b = { model: modelB!, gw: await TestGateway.start({ model: modelB!, plugins: [natsPlugin(hubPluginConfig(others))], readyLog: HUB_READY, timeoutMs: 300_000 }) };
  });
  after(async () => {
    await c.nc?.close();
    await Promise.all([c.a?.gw.dispose(), c.b?.gw.dispose()]);
    await Promise.all([c.a?.model.close(), c.b?.model.close()]);
    await Promise.all((c.nodes ?? []).map((n) => n.stop()));
  });

  test("SIGKILL of one gateway's machine (its node and its gateway): the other keeps serving main's wakes and agent-protocol prompts, each wake once in all", async (t) => {
    const { nodes, nc, a, b } = c;
    const nodeA = await nodeOf(a.gw, nodes);
    const nodeB = await nodeOf(b.gw, nodes);
    assert.ok(nodeA && nodeB, "both gateways connected");
    assert.notEqual(nodeA, nodeB, "the two gateways are on different nodes");

    // Both serve main: each has pull requests waiting on main's durable consumer, and each answers $SRV.PING.
    await waitFor("both gateways pull from main's consumer", async () => {
      const ci = await (await jsmNow(nc)).consumers.info("OPENCLAW_INBOX", CONSUMER);
      if (ci.num_waiting >= 2) return true;
      await pause(200);
      return false;
    }, 30_000);
    let bothIds = new Set<string>();
    await waitFor("both gateways answer $SRV.PING.agents", async () => (bothIds = await pingIds(nc)).size === 2, 30_000);

    // Wakes while both run: each reaches one of the two agents' models, once in all.
    const js = jetstream(nc, { timeout: 2000 });
    const shared = markerList("c2g-both", 6);
    for (const m of shared) await publishAccepted(js, "agent.main.inbox", m);
    const both = () => [...a.model.requests, ...b.model.requests];
    await waitFor("every shared wake reaches a model", () => markerTurns(both(), shared).firstTurn.size === shared.length, 120_000);
    // Nothing of B's in flight when it dies (a held message would only come back after the 30-s ack wait).
    await waitFor("inbox drained", async () => {
      if ((await (await jsmNow(nc)).streams.info("OPENCLAW_INBOX")).state.messages === 0) return true;
      await pause(200);
      return false;
    }, 60_000);
    const split = `${markerTurns(a.model.requests, shared).firstTurn.size} by A, ${markerTurns(b.model.requests, shared).firstTurn.size} by B`;

    // B's machine dies.
    await b.gw.kill();
    await nodeB.kill();
    const bSeen = b.model.requests.length;
    const after = markerList("c2g-after", 6);
    const acceptMs: number[] = [];
    for (const m of after) {
      acceptMs.push(await publishAccepted(js, "agent.main.inbox", m));
      await pause(EVERY_MS);
    }
    t.diagnostic(`A on n${nodes.indexOf(nodeA) + 1}, B on n${nodes.indexOf(nodeB) + 1}; before the kill ${split}; accept times after it (ms): ${acceptMs.join(" ")}`);
    await waitFor("every wake after the kill reaches A's model", () => markerTurns(a.model.requests, after).firstTurn.size === after.length, 120_000);

    // Discovery shows A alone; a prompt over the agent protocol is answered by A's agent.
    await waitFor("only A answers $SRV.PING.agents", async () => {
      const ids = await pingIds(nc);
      return ids.size === 1 && [...ids].every((id) => bothIds.has(id));
    }, 30_000);
    const reply = await retry("a prompt answered", async () => {
      const r = await streamV3(nc, PROMPT, "c2g-prompt: are you there?", { inactivityMs: 20_000 });
      assert.ok(r.terminated, "the reply stream ended");
      return readReply(r);
    }, 60_000);
    assert.deepEqual(reply.errors, []);
    assert.ok(reply.text.length > 0, "a response came back");
    assert.ok(a.model.requests.some((r) => turnText(r).includes("c2g-prompt")), "A's agent had the prompt's turn");

    assert.equal(b.model.requests.length, bSeen, "nothing reached the dead gateway's model");
    const seen = markerTurns(both(), [...shared, ...after]);
    for (const m of [...shared, ...after]) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to an agent once`);

    // B's node returns and catches up: still nothing handed twice.
    await nodeB.restart();
    await waitFor("the node catches up", () => caughtUp(nc, "OPENCLAW_INBOX", nodes.length), 60_000);
    await publishAccepted(js, "agent.main.inbox", "c2g-last");
    await waitFor("the last wake reaches A's model", () => markerTurns(a.model.requests, ["c2g-last"]).firstTurn.size === 1, 60_000);
    const again = markerTurns(both(), [...shared, ...after, "c2g-last"]);
    for (const m of [...shared, ...after, "c2g-last"]) assert.equal(again.timesSeen.get(m), 1, `${m} once after the node returned`);
  });
});
