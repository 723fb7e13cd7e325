import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsLink } from "../../src/connection/link.ts";
import { EventStore } from "../../src/events/store.ts";
import { startCluster, type NatsServer } from "../harness/nats-server.ts";
import { eventsConfig, integrityProblems, memoryLogger, readStream, retry, tempDir, testLink, waitFor } from "./helpers.ts";
import { produce } from "./producer.ts";

const TOTAL = 20_000;
const STREAM = "rel-cluster";

/** Waits until the JetStream cluster has a meta leader (a replicated stream can be created). */
async function waitForJetStreamCluster(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    await waitFor(
      "a JetStream meta leader",
      async () => {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 1000 });
          await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
          await jsm.streams.delete("probe");
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
  } finally {
    await nc.close();
  }
}

type Victim = "connected" | "leader";

async function killMidRun(victim: Victim, t: { diagnostic: (m: string) => void }): Promise<void> {
  const nodes = await startCluster(3);
  const urls = nodes.map((n) => n.url).join(",");
  const log = memoryLogger();
  const link = testLink(urls, log, "events-cluster-test");
  const store = new EventStore({ config: eventsConfig({ streamName: STREAM, replicas: 3 }), stateDir: tempDir(), link, logger: log, publishTimeoutMs: 2000 });
  let killed: NatsServer | undefined;
  try {
    await waitForJetStreamCluster(nodes[0].url);
    void link.start();
    await store.start();
    await waitFor("the R3 stream", async () => (await store.status()).streams[0].provisioned === "created", 30_000);
    const leader = await leaderNode(nodes, link);

    await produce(store, {
      total: TOTAL,
      sessions: 20,
      // ~100k/s offered, more than an R3 stream takes: the kill finds a backlog and a full publish window.
      perTick: 1000,
      tickMs: 10,
      onProgress: async (recorded) => {
        if (killed || recorded < TOTAL / 2) return;
        killed = victim === "connected" ? connectedNode(nodes, link.status().server) : leader;
        await killed.kill(); // right after a burst: publishes are in flight
        const s = await store.status();
        t.diagnostic(`killed the ${victim} node (:${killed.port}) at ${recorded} recorded: published ${s.published}, spool depth ${s.spoolDepth}`);
      },
    });
    assert.equal(await store.flush(60_000), true, "the spool drained through the surviving nodes");
    const status = await store.status();
    t.diagnostic(`after: server ${status.server}, published ${status.published}, duplicates ${status.duplicates}, failures ${status.failures}, disconnects ${status.disconnects}`);

    const survivor = nodes.find((n) => n !== killed);
    const nc = await connect({ servers: survivor!.url });
    try {
      // The killed node may have been the JetStream meta leader: API calls time out until a new one is elected.
      const stored = await retry("reading the stream", () => readStream(nc, STREAM));
      assert.equal(stored.length, TOTAL);
      assert.equal(new Set(stored.map((e) => e.event.payload.n)).size, TOTAL);
      assert.deepEqual(integrityProblems(stored), []);
      const info = await retry("stream info", async () => (await jetstreamManager(nc, { timeout: 2000 })).streams.info(STREAM));
      assert.equal(info.config.num_replicas, 3);
    } finally {
      await nc.close();
    }
  } finally {
    await store.stop();
    await link.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

function connectedNode(nodes: NatsServer[], server: string | undefined): NatsServer {
  const node = nodes.find((n) => (server ?? "").endsWith(`:${n.port}`));
  assert.ok(node, `connected to ${server}`);
  return node;
}

/** startCluster names its nodes n1, n2, n3 in order. */
async function leaderNode(nodes: NatsServer[], link: NatsLink): Promise<NatsServer> {
  const nc = await link.ready();
  const leader = (await retry("stream info", async () => (await jetstreamManager(nc, { timeout: 2000 })).streams.info(STREAM))).cluster?.leader ?? "";
  const node = nodes[Number(leader.slice(1)) - 1];
  assert.ok(node, `stream leader ${leader}`);
  return node;
}

test("3-node cluster, R3 stream, the node the publisher is connected to is killed mid-run: 0 lost, no duplicates, order intact", async (t) => {
  await killMidRun("connected", t);
});

test("3-node cluster, R3 stream, the stream leader is killed mid-run: 0 lost, no duplicates, order intact", async (t) => {
  await killMidRun("leader", t);
});
