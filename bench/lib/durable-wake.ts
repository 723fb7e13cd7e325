import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../../test/harness/gateway.ts";
import type { ScriptedModel } from "../../test/harness/model-server.ts";
import { natsPlugin } from "../../test/harness/nats-plugin.ts";
import { NatsServer, startCluster } from "../../test/harness/nats-server.ts";
import { turnText } from "../../test/harness/turns.ts";
import { Latencies } from "./stats.ts";

// bench:wake's (r) rows: urgent durable wakes (inbox.durable) through a real gateway on one nats-server
// (R1) and through another on a 3-node cluster (replicas: 3), in the same run, alternating one message at
// a time so both see the same load: the publisher's JetStream ack, and publish → the model request.

export interface DurableFigures {
  ack: Latencies;
  toModel: Latencies;
}

const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function metaLeader(nc: NatsConnection): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
      await jsm.streams.delete("probe");
      return;
    } catch (err) {
      if (i > 60) throw err;
      await sleep(500);
    }
  }
}

export async function durableWakes(model: ScriptedModel, n: number, settleMs: number): Promise<{ r1: DurableFigures; r3: DurableFigures }> {
  const single = await NatsServer.start();
  const cluster = await startCluster(3);
  const lanes: Array<{ label: "r1" | "r3"; nc: NatsConnection; gw?: TestGateway; figures: DurableFigures }> = [];
  try {
    const r1nc = await connect({ servers: single.url });
    const r3nc = await connect({ servers: cluster.map((s) => s.url) });
    lanes.push({ label: "r1", nc: r1nc, figures: { ack: new Latencies(), toModel: new Latencies() } });
    lanes.push({ label: "r3", nc: r3nc, figures: { ack: new Latencies(), toModel: new Latencies() } });
    await metaLeader(r3nc);
    const base = { events: { enabled: false }, inbox: { durable: true }, subjects: ["agent.*.inbox"] };
    const boot = (url: string, replicas: number) =>
      TestGateway.start({ model, plugins: [natsPlugin({ ...base, url, replicas })], agents: ["main"], readyLog: /durable inbox OPENCLAW_INBOX\/openclaw-gateway-main consuming/, timeoutMs: 300_000 });
    [lanes[0]!.gw, lanes[1]!.gw] = await Promise.all([boot(single.url, 1), boot(cluster.map((s) => s.url).join(","), 3)]);
    for (const lane of lanes) {
      const text = `warm-up durable ${lane.label}`;
      await jetstream(lane.nc).publish("agent.main.inbox", JSON.stringify({ from: "bench", body: text, priority: "urgent" }));
      await model.waitFor((r) => turnText(r).includes(text), 300_000);
    }
    for (let i = 0; i < n; i++) {
      for (const lane of lanes) {
        await sleep(settleMs);
        const text = `bench-durable-${lane.label}-${i}-${Date.now()}`;
        const t0 = epochMs();
        await jetstream(lane.nc, { timeout: 10_000 }).publish("agent.main.inbox", JSON.stringify({ from: "bench", body: text, priority: "urgent" }), { msgID: text });
        lane.figures.ack.add((epochMs() - t0) * 1000);
        const r = await model.waitFor((q) => turnText(q).includes(text), 120_000);
        lane.figures.toModel.add((r.receivedAtHr - t0) * 1000);
      }
      process.stderr.write(`  durable ${i + 1}/${n}\n`);
    }
    return { r1: lanes[0]!.figures, r3: lanes[1]!.figures };
  } finally {
    await Promise.all(lanes.map((l) => l.gw?.dispose()));
    await Promise.all(lanes.map((l) => l.nc.close()));
    await single.stop();
    await Promise.all(cluster.map((s) => s.stop()));
  }
}
