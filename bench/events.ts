/**
 * Event store benchmark (npm run bench:events): one spawned nats-server (file storage, R1) and a 3-node
 * cluster on the same machine (R3 streams), then
 *   (a) the bare nats.js client publishing windowed to JetStream: the ceiling;
 *   (b) events through the plugin's whole path, record → spool → JetStream ack, for ≥ 10 s;
 *   (c) the seed's scenarios: sequential, 10 concurrent, payload 100 B / 1 KB / 10 KB / 50 KB, consumer read;
 *   (d) record()'s own cost on the agent's path, p50 / p99; at 2,000/s twice each with the spool's WAL
 *       checkpoint every second inline (as before) and on idle with the log pre-synced (now), alternating.
 *   (r) R3 on a 3-node cluster beside R1: (a), (b) and the sequential case again, on replicated streams.
 * Prints a table and writes bench/results/events.json. Figures are measured, never asserted.
 * BENCH_SCALE=0.2 shortens every timed phase (a quick smoke run; not for the record).
 */
import { cpus } from "node:os";
import { connect } from "@nats-io/transport-node";
import { NatsLink } from "../src/connection/link.ts";
import { NatsServer, startCluster } from "../test/harness/nats-server.ts";
import { addStream, bareAckPublisher, bareSequential, bareWindowed, consumerRead } from "./lib/bare.ts";
import { pluginThroughput, quietLogger, recordCost, sampleEvent } from "./lib/plugin-path.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";
import { Latencies, perSecond } from "./lib/stats.ts";
import { Spool } from "../src/spool/spool.ts";
import { buildEnvelope } from "../src/events/envelope.ts";

const SCALE = Number(process.env.BENCH_SCALE ?? "1");
const sec = (s: number): number => Math.max(500, Math.round(s * 1000 * SCALE));
const WINDOW = 512; // events.spool.inFlight default
const TYPICAL_PAYLOAD = 256;
const SEED = { sequential: 3800, concurrent: 9000, read: 20000 };

const server = await NatsServer.start();
const nc = await connect({ servers: server.url });
const link = new NatsLink({ url: server.url, name: "bench-events", reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 } }, quietLogger);
void link.start();
await link.ready();
// The cluster stays idle until (r); started here so a failure to form it shows before the long phases.
const cluster = await startCluster(3);
const clusterUrl = cluster.map((n) => n.url).join(",");
const cnc = await connect({ servers: cluster.map((n) => n.url) });
const clink = new NatsLink({ url: clusterUrl, name: "bench-events-r3", reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 } }, quietLogger);
void clink.start();
await clink.ready();
const rows: Row[] = [];
const log = (m: string): void => console.error(`… ${m}`);

try {
  log("warm-up");
  await addStream(nc, "bare-warm", "bare.warm.>");
  const typical = JSON.stringify(buildEnvelope(sampleEvent(TYPICAL_PAYLOAD, 0)));
  await bareWindowed(nc, "bare.warm.x", typical, WINDOW, sec(1));
  await pluginThroughput(link, { name: "warm", inFlight: WINDOW, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(2) });

  log("(a) bare client, windowed");
  await addStream(nc, "bare-windowed", "bare.windowed.>");
  const bare = await bareWindowed(nc, "bare.windowed.main.msg_in", typical, WINDOW, sec(5));
  const ceiling = perSecond(bare.count, bare.ms);
  rows.push({ id: "a", scenario: `bare nats.js js.publish, ${WINDOW} in flight, msgID, ${typical.length} B`, value: ceiling, unit: "msg/s", detail: `${bare.count} in ${(bare.ms / 1000).toFixed(1)} s` });
  await addStream(nc, "bare-ackpub", "bare.ackpub.>");
  const bareAck = await bareAckPublisher(nc, "bare.ackpub.main.msg_in", typical, WINDOW, sec(5));
  const techniqueCeiling = perSecond(bareAck.count, bareAck.ms);
  rows.push({ id: "a'", scenario: `bare PUB + PubAck callback (plugin's technique, no spool), ${WINDOW} in flight`, value: techniqueCeiling, unit: "msg/s", detail: `${bareAck.count} in ${(bareAck.ms / 1000).toFixed(1)} s` });

  log("(b) plugin whole path, sustained");
  const sustained = await pluginThroughput(link, { name: "sustained", inFlight: WINDOW, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(10) });
  const whole = perSecond(sustained.count, sustained.ms);
  const ratio = Math.round((whole / ceiling) * 100) / 100;
  const techniqueRatio = Math.round((whole / techniqueCeiling) * 100) / 100;
  rows.push({
    id: "b",
    scenario: `plugin: record → spool → JetStream ack, ${WINDOW} in flight`,
    value: whole,
    unit: "events/s",
    compare: `≥ 20,000 and ≥ 0.8 × a (${ratio} × a)`,
    meetsTarget: whole >= 20_000 && ratio >= 0.8,
    detail: `${sustained.count} in ${(sustained.ms / 1000).toFixed(1)} s`,
  });
  rows.push({ id: "b/a'", scenario: "plugin path vs bare PUB + PubAck (a'), same run", value: techniqueRatio, unit: "×", compare: "≥ 0.6", meetsTarget: techniqueRatio >= 0.6, detail: `${whole} / ${techniqueCeiling} per s` });

  log("(c) sequential / concurrent");
  const seqPlugin = await pluginThroughput(link, { name: "sequential", inFlight: 1, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(4) });
  rows.push({ id: "c1", scenario: "plugin, sequential (1 in flight)", value: perSecond(seqPlugin.count, seqPlugin.ms), unit: "events/s", compare: `seed ${SEED.sequential.toLocaleString("en-US")}` });
  await addStream(nc, "bare-sequential", "bare.sequential.>");
  const seqBare = await bareSequential(nc, "bare.sequential.main.msg_in", typical, sec(3));
  rows.push({ id: "c1'", scenario: "bare nats.js, sequential await", value: perSecond(seqBare.count, seqBare.ms), unit: "msg/s", detail: "for reference" });
  const conc = await pluginThroughput(link, { name: "concurrent", inFlight: 10, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(4) });
  rows.push({ id: "c2", scenario: "plugin, 10 concurrent (10 in flight)", value: perSecond(conc.count, conc.ms), unit: "events/s", compare: `seed ${SEED.concurrent.toLocaleString("en-US")}` });

  log("(c) payload sizes");
  for (const [label, bytes] of [["100 B", 100], ["1 KB", 1024], ["10 KB", 10 * 1024], ["50 KB", 50 * 1024]] as const) {
    const r = await pluginThroughput(link, { name: `payload-${bytes}`, inFlight: WINDOW, payloadBytes: bytes, durationMs: sec(3) });
    const rate = perSecond(r.count, r.ms);
    rows.push({ id: `c-${label.replace(" ", "")}`, scenario: `plugin, payload ${label}`, value: rate, unit: "events/s", detail: `${((rate * bytes) / 1e6).toFixed(1)} MB/s of payload` });
  }

  log("(c) consumer read");
  const read = await consumerRead(nc, sustained.stream);
  const readRate = perSecond(read.count, read.ms);
  rows.push({ id: "c-read", scenario: "ordered consumer read + JSON parse", value: readRate, unit: "events/s", compare: `≥ 100,000 (seed ${SEED.read.toLocaleString("en-US")})`, meetsTarget: readRate >= 100_000, detail: `${read.count} events` });

  log("(d) record() cost: checkpoint schedule before and now, alternating");
  const pacedBy: Record<"inline" | "now", Latencies[]> = { inline: [], now: [] };
  for (const mode of ["inline", "now", "inline", "now"] as const) {
    Spool.inlineCheckpoints = mode === "inline";
    pacedBy[mode].push(await recordCost(link, 10, 5, sec(5), TYPICAL_PAYLOAD));
  }
  Spool.inlineCheckpoints = false;
  const before = Latencies.merge(pacedBy.inline).summary();
  const paced = Latencies.merge(pacedBy.now).summary();
  const p99s = (list: Latencies[]): string => list.map((l) => `${l.summary().p99}`).join(" / ");
  rows.push({ id: "d0", scenario: "record() at 2,000/s, checkpoint every second inline (before), p50 / p99", value: before.p99, unit: "µs (p99)", detail: `p50 ${before.p50} µs, p99.9 ${before.p999} µs, max ${before.max} µs; p99 per run ${p99s(pacedBy.inline)} µs` });
  rows.push({ id: "d", scenario: "record() at 2,000/s (10 every 5 ms), p50", value: paced.p50, unit: "µs", detail: `${paced.count} calls` });
  rows.push({ id: "d", scenario: "record() at 2,000/s, checkpoint on idle, log pre-synced (now), p99", value: paced.p99, unit: "µs", compare: "< 50", meetsTarget: paced.p99 < 50, detail: `p99.9 ${paced.p999} µs, max ${paced.max} µs; p99 per run ${p99s(pacedBy.now)} µs` });
  const sporadic = (await recordCost(link, 1, 2, sec(5), TYPICAL_PAYLOAD)).summary();
  rows.push({ id: "d", scenario: "record() one every 2 ms (cold caches), p50 / p99", value: sporadic.p99, unit: "µs (p99)", compare: "< 50", meetsTarget: sporadic.p99 < 50, detail: `p50 ${sporadic.p50} µs, p99.9 ${sporadic.p999} µs, ${sporadic.count} calls` });
  const loaded = sustained.record.summary();
  rows.push({ id: "d'", scenario: "record() during (b), saturated, p50 / p99", value: loaded.p99, unit: "µs (p99)", detail: `p50 ${loaded.p50} µs, p99.9 ${loaded.p999} µs, ${loaded.count} calls` });

  log("(r) R3 on a 3-node cluster");
  // The meta leader is elected a few seconds after start: retry the first R3 stream until it is.
  for (let i = 0; ; i++) {
    try {
      await addStream(cnc, "r3-warm", "r3.warm.>", 3);
      break;
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await bareWindowed(cnc, "r3.warm.x", typical, WINDOW, sec(1));
  await addStream(cnc, "r3-bare-windowed", "r3.windowed.>", 3);
  const bareR3 = await bareWindowed(cnc, "r3.windowed.main.msg_in", typical, WINDOW, sec(5));
  const ceilingR3 = perSecond(bareR3.count, bareR3.ms);
  rows.push({ id: "a-R3", scenario: `bare nats.js js.publish, ${WINDOW} in flight, R3 cluster`, value: ceilingR3, unit: "msg/s", detail: `${Math.round((ceilingR3 / ceiling) * 100) / 100} × a (R1)` });
  const sustainedR3 = await pluginThroughput(clink, { name: "r3-sustained", inFlight: WINDOW, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(10), replicas: 3 });
  const wholeR3 = perSecond(sustainedR3.count, sustainedR3.ms);
  rows.push({ id: "b-R3", scenario: `plugin: record → spool → JetStream ack, ${WINDOW} in flight, R3 cluster`, value: wholeR3, unit: "events/s", detail: `${Math.round((wholeR3 / whole) * 100) / 100} × b (R1); ${Math.round((wholeR3 / ceilingR3) * 100) / 100} × a-R3` });
  const seqR3 = await pluginThroughput(clink, { name: "r3-sequential", inFlight: 1, payloadBytes: TYPICAL_PAYLOAD, durationMs: sec(4), replicas: 3 });
  const seqR3Rate = perSecond(seqR3.count, seqR3.ms);
  rows.push({ id: "c1-R3", scenario: "plugin, sequential (1 in flight), R3 cluster", value: seqR3Rate, unit: "events/s", detail: `${Math.round((seqR3Rate / perSecond(seqPlugin.count, seqPlugin.ms)) * 100) / 100} × c1 (R1)` });

  printTable(`Event store benchmark — nats-server ${nc.info?.version}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}${SCALE !== 1 ? `, BENCH_SCALE=${SCALE}` : ""}`, rows);
  writeJson(new URL("./results/events.json", import.meta.url).pathname, {
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, natsServer: nc.info?.version, scale: SCALE },
    seed: SEED,
    rows,
    recordCost: { pacedInlineCheckpoint: before, paced, sporadic, saturated: loaded },
  });
} finally {
  await link.stop();
  await clink.stop();
  await nc.close();
  await cnc.close();
  await server.stop();
  await Promise.all(cluster.map((n) => n.stop()));
}
