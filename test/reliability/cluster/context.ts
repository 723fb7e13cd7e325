import { jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { TestGateway } from "../../harness/gateway.ts";
import type { ScriptedModel } from "../../harness/model-server.ts";
import { startCluster, type NatsServer } from "../../harness/nats-server.ts";
import { retry } from "../helpers.ts";

// What the cluster cases share: a 3-node cluster, a test client on it and gateway A, which every case
// runs through. The files that boot more (a second gateway, an edge site) extend it.

export interface Site {
  gw: TestGateway;
  model: ScriptedModel;
}

export interface Cluster {
  /** A 3-node JetStream cluster (the hub, for the edge file). */
  nodes: NatsServer[];
  /** A test client on the cluster, listing every node. */
  nc: NatsConnection;
  /** The gateway the cases run through (its url lists all three nodes). */
  a: Site;
}

export type Shared<C extends Cluster = Cluster> = () => C;

/** A 3-node cluster and a test client on it, once its JetStream meta leader takes R3 streams (gateways provision theirs at start). */
export async function readyCluster(): Promise<Pick<Cluster, "nodes" | "nc">> {
  const nodes = await startCluster(3);
  const nc = await connect({ servers: nodes.map((n) => n.url), reconnectTimeWait: 200, maxReconnectAttempts: -1 });
  await retry("a JetStream meta leader", async () => {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
    await jsm.streams.delete("probe");
  });
  return { nodes, nc };
}

/**
 * The plugin config of a gateway on the cluster hosting main. Its inbox takes only main's subject: in the
 * edge file a hub stream over agent.*.inbox would also take (and ack) the edge agent's wakes.
 */
export function hubPluginConfig(url: string): object {
  return {
    url,
    subjects: ["agent.main.inbox"],
    replicas: 3,
    inbox: { durable: true },
    reconnect: { delayMs: 200, maxDelayMs: 1000 },
    agentProtocol: { enabled: true, owner: "acme", heartbeatIntervalS: 2, keepAliveS: 1 },
    // Unsigned test prompts get turns (the two-gateway case prompts main over the agent protocol).
    relay: { trustUnsignedCallers: true },
  };
}

export const HUB_READY = /durable inbox OPENCLAW_INBOX\/openclaw-gateway-main consuming/;
export const EVERY_MS = 300;

export function markers(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
}

export function wakeBody(marker: string): string {
  return JSON.stringify({ from: "ci", body: `wake ${marker}`, priority: "urgent" });
}

/** A publisher that retries (same msgID each time: stored once) until JetStream acks; ms it took. */
export async function publishAccepted(js: JetStreamClient, subject: string, marker: string): Promise<number> {
  const started = performance.now();
  await retry(`wake ${marker} accepted`, () => js.publish(subject, wakeBody(marker), { msgID: marker }), 20_000);
  return Math.round(performance.now() - started);
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const jsmNow = (nc: NatsConnection, domain?: string): Promise<JetStreamManager> =>
  retry("jetstream", () => jetstreamManager(nc, { timeout: 2000, ...(domain ? { domain } : {}) }));

/** The node leading a replicated stream. */
export function leaderOf(info: StreamInfo, nodes: NatsServer[]): NatsServer | undefined {
  const name = info.cluster?.leader ?? "";
  return nodes[Number(name.slice(1)) - 1];
}

type Status = { connection: { server?: string; connected: boolean; reconnects: number } };

export async function connection(gw: TestGateway): Promise<Status["connection"]> {
  return ((await gw.call("nats.status")) as Status).connection;
}

/** The node a gateway's plugin is connected to now. */
export async function nodeOf(gw: TestGateway, nodes: NatsServer[]): Promise<NatsServer | undefined> {
  const server = (await connection(gw)).server ?? "";
  return nodes.find((n) => server.endsWith(`:${n.port}`));
}

/** Every replica of the stream is back and current (a returned node caught up); polls at most every 200 ms. */
export async function caughtUp(nc: NatsConnection, stream: string, size: number): Promise<boolean> {
  // An info request can time out while the returned node rejoins (an election): that is "not yet".
  const i = await (await jsmNow(nc)).streams.info(stream).catch(() => undefined);
  const peers = i?.cluster?.replicas ?? [];
  if (peers.length === size - 1 && peers.every((r) => r.current)) return true;
  await pause(200);
  return false;
}

/** `$SRV.PING.agents` is answered (by any agent-protocol service on the account), retried until it is. */
export async function srvPingAnswers(nc: NatsConnection): Promise<void> {
  await retry("$SRV.PING.agents answers", async () => {
    const r = await nc.request("$SRV.PING.agents", "", { timeout: 1000 });
    if (r.data.length === 0) throw new Error("an empty answer");
  });
}
