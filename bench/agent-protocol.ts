// npm run bench:agent-protocol — agent-protocol prompts through a real gateway, against the gateway's own floor.
//   (a0) floor for any reply from the gateway: `$SRV.PING.agents` request → reply (same connection, same moments)
//   (a) prompt published → `ack` chunk at the caller (target < 5 ms: the ack must not wait on the model)
//   (a2) the same while 3 other callers' turns are starting and streaming (4 prompts at once)
//   (b) prompt published → first `response` chunk at the caller
//   (c) floor: subagent.run called in-process → the run's first assistant delta (probe plugin, no NATS),
//       same agent, its own session
//   (d) prompt published → the model server receives the request; (e) floor call → model request
// Prompts go one at a time (each is a full agent turn) after a pause that lets the host finish the previous
// turn's bookkeeping, alternating NATS and floor (and which goes first) so both see the same load.
import { join } from "node:path";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { REPO_ROOT } from "../scripts/stage-plugin.ts";
import { TestGateway } from "../test/harness/gateway.ts";
import { ScriptedModel, promptText } from "../test/harness/model-server.ts";
import { natsPlugin } from "../test/harness/nats-plugin.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";
import { Latencies } from "./lib/stats.ts";

const N = Number(process.env.BENCH_AP_N ?? 30);
const ROUNDS = Number(process.env.BENCH_AP_ROUNDS ?? 8);
const epochMs = (): number => performance.timeOrigin + performance.now();
const PARTS = ["Hello", ", this is", " the answer."];

interface Timed {
  ack?: number;
  firstResponse?: number;
  end?: number;
}

/** Publish one prompt and time its stream at the caller (epoch ms of each milestone). */
async function prompt(nc: NatsConnection, subject: string, text: string): Promise<Timed & { sentAt: number }> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  await nc.flush();
  const t: Timed = {};
  const sentAt = epochMs();
  nc.publish(subject, text, { reply: inbox });
  const timer = setTimeout(() => sub.unsubscribe(), 120_000);
  for await (const m of sub) {
    const at = epochMs();
    if (m.data.length === 0 && !m.headers) {
      t.end = at;
      break;
    }
    const chunk = m.json<{ type: string; data: unknown }>();
    if (chunk.type === "status" && t.ack === undefined) t.ack = at;
    if (chunk.type === "response" && t.firstResponse === undefined) t.firstResponse = at;
    if (m.headers?.get("Nats-Service-Error-Code")) throw new Error(`prompt failed: ${m.string()}`);
  }
  clearTimeout(timer);
  sub.unsubscribe();
  if (t.ack === undefined || t.firstResponse === undefined || t.end === undefined) throw new Error(`incomplete stream for ${text}`);
  return { ...t, sentAt };
}

const server = await NatsServer.start({ jetstream: false });
const model = await ScriptedModel.start();
model.reply(() => ({ text: PARTS.join(""), streaming: { parts: PARTS } }));
const gw = await TestGateway.start({
  model,
  // "host" takes the gateway's heartbeat/system-agent duties, so "main" (both paths) has none
  agents: ["host", "main"],
  plugins: [
    natsPlugin({
      url: server.url,
      events: { enabled: false },
      relay: { trustUnsignedCallers: true, maxConcurrent: 8 },
      agentProtocol: { enabled: true, owner: "bench", agents: ["main"] },
    }),
    { path: join(REPO_ROOT, "test/fixtures/probe-plugin"), id: "probe" },
  ],
  readyLog: /agent protocol: agent main registered/,
});
const nc = await connect({ servers: server.url });
const callers = await Promise.all([1, 2, 3].map(() => connect({ servers: server.url })));
const subject = "agents.prompt.oc.bench.main";
const FLOOR_SESSION = "agent:main:floor";
const SETTLE_MS = Number(process.env.BENCH_AP_SETTLE_MS ?? 1000);
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));
const ping = new Latencies();
const ack = new Latencies();
const ackLoaded = new Latencies();
const first = new Latencies();
const floor = new Latencies();
const toModel = new Latencies();
const floorToModel = new Latencies();
try {
  // Warm-up: the first turn of each path creates its session and is much slower.
  await prompt(nc, subject, "warm-up nats");
  await gw.call("probe.turn", { sessionKey: FLOOR_SESSION, text: "warm-up floor" }, 120_000);
  for (let i = 0; i < N; i++) {
    const viaNats = async () => {
      await settle();
      const p0 = epochMs();
      await nc.request("$SRV.PING.agents", "", { timeout: 10_000 });
      ping.add((epochMs() - p0) * 1000);
      const natsText = `bench-ap-${i}-${Date.now()}`;
      const r = await prompt(nc, subject, natsText);
      ack.add(((r.ack as number) - r.sentAt) * 1000);
      first.add(((r.firstResponse as number) - r.sentAt) * 1000);
      toModel.add(((await model.waitFor((q) => promptText(q).includes(natsText), 10_000)).receivedAtHr - r.sentAt) * 1000);
      return r;
    };
    const viaFloor = async () => {
      await settle();
      const floorText = `bench-floor-${i}-${Date.now()}`;
      const f = (await gw.call("probe.turn", { sessionKey: FLOOR_SESSION, text: floorText }, 120_000)) as { calledAt: number; firstDeltaAt?: number; status: string };
      if (f.firstDeltaAt === undefined) throw new Error(`floor run saw no assistant delta (status ${f.status})`);
      floor.add((f.firstDeltaAt - f.calledAt) * 1000);
      floorToModel.add(((await model.waitFor((q) => promptText(q).includes(floorText), 10_000)).receivedAtHr - f.calledAt) * 1000);
      return f as { calledAt: number; firstDeltaAt: number };
    };
    let r: Awaited<ReturnType<typeof viaNats>>;
    let f: Awaited<ReturnType<typeof viaFloor>>;
    if (i % 2 === 0) {
      r = await viaNats();
      f = await viaFloor();
    } else {
      f = await viaFloor();
      r = await viaNats();
    }
    process.stderr.write(`  ${i + 1}/${N}: ack ${(r.ack as number) - r.sentAt < 10 ? ((r.ack as number) - r.sentAt).toFixed(2) : Math.round((r.ack as number) - r.sentAt)} ms, first chunk ${Math.round((r.firstResponse as number) - r.sentAt)} ms, floor ${Math.round(f.firstDeltaAt - f.calledAt)} ms\n`);
  }
  type Summary = { count: number; p50: number; p99: number; max: number };
  const pluginShare = async (): Promise<Summary> => ((await gw.call("nats.status")) as { agentProtocol: { ackMicros: Summary } }).agentProtocol.ackMicros;
  const share = await pluginShare();
  // Acks while other turns run: four callers at once (own connections, so four sessions and turn slots).
  for (let round = 0; round < ROUNDS; round++) {
    const all = await Promise.all([nc, ...callers].map((c, k) => prompt(c, subject, `bench-load-${round}-${k}-${Date.now()}`)));
    for (const r of all) ackLoaded.add(((r.ack as number) - r.sentAt) * 1000);
  }
  const shareAll = await pluginShare();
  const ms = (us: number): number => Math.round(us / 10) / 100;
  const a0 = ping.summary();
  const a = ack.summary();
  const a2 = ackLoaded.summary();
  const b = first.summary();
  const c = floor.summary();
  const d = toModel.summary();
  const e = floorToModel.summary();
  const rows: Row[] = [
    { id: "a0", scenario: "floor: $SRV.PING.agents → reply from the same gateway", value: ms(a0.p50), unit: "ms p50", detail: `p99 ${ms(a0.p99)} ms, max ${ms(a0.max)} ms, n=${a0.count}` },
    { id: "a", scenario: "prompt → ack at the caller", value: ms(a.p50), unit: "ms p50", compare: "< 5 ms", meetsTarget: ms(a.p99) < 5, detail: `p99 ${ms(a.p99)} ms, max ${ms(a.max)} ms, n=${a.count}` },
    { id: "a'", scenario: "  of which the plugin: arrival → ack on the socket", value: share.p50, unit: "µs p50", detail: `p99 ${share.p99} µs, max ${share.max} µs, n=${share.count}` },
    { id: "a2", scenario: "  with 4 prompts at once (turns starting and streaming)", value: ms(a2.p50), unit: "ms p50", compare: "< 5 ms", meetsTarget: ms(a2.p99) < 5, detail: `p99 ${ms(a2.p99)} ms, max ${ms(a2.max)} ms, n=${a2.count}` },
    { id: "a2'", scenario: "  plugin share over all prompts, incl. 4 at once", value: shareAll.p50, unit: "µs p50", detail: `p99 ${shareAll.p99} µs, max ${shareAll.max} µs, n=${shareAll.count}` },
    { id: "b", scenario: "prompt → first response chunk at the caller", value: ms(b.p50), unit: "ms p50", detail: `p99 ${ms(b.p99)} ms, n=${b.count}` },
    { id: "c", scenario: "floor: subagent.run → first assistant delta (in-process, no NATS)", value: ms(c.p50), unit: "ms p50", detail: `p99 ${ms(c.p99)} ms, n=${c.count}` },
    { id: "b-c", scenario: "NATS path minus floor (p50)", value: Math.round((ms(b.p50) - ms(c.p50)) * 100) / 100, unit: "ms" },
    { id: "d", scenario: "prompt → model request", value: ms(d.p50), unit: "ms p50", detail: `p99 ${ms(d.p99)} ms` },
    { id: "e", scenario: "floor: subagent.run → model request", value: ms(e.p50), unit: "ms p50", detail: `p99 ${ms(e.p99)} ms` },
  ];
  printTable(`bench:agent-protocol — ${N} prompts one at a time + ${ROUNDS} rounds of 4 at once, real gateway + nats-server`, rows);
  writeJson("bench/results/agent-protocol.json", { date: new Date().toISOString(), n: N, rounds: ROUNDS, pingMicros: a0, ackMicros: a, pluginAckMicros: share, pluginAckMicrosAll: shareAll, ackUnderLoadMicros: a2, firstChunkMicros: b, floorFirstDeltaMicros: c, promptToModelMicros: d, floorToModelMicros: e, rows });
} finally {
  for (const c of callers) await c.close();
  await nc.close();
  await gw.dispose();
  await model.close();
  await server.stop();
}
