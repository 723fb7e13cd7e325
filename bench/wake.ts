// npm run bench:wake — urgent NATS wakes through a real gateway, against the gateway's own floor.
//   (a) plugin share: message arrival → system event enqueued + wake requested (measured inside the plugin)
//   (b) publish → the model server receives the request carrying the text
//   (c) floor: enqueue → model request with no NATS at all (same call, made by a probe plugin's gateway method)
//   (d) the other real path: a NATS message with expectReply runs a turn through api.runtime.subagent.run
// Messages go one at a time (each wake is a full agent turn), alternating NATS and floor so both see the
// same load, with a pause before each so the previous turn has finished.
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import { TestGateway } from "../test/harness/gateway.ts";
import { ScriptedModel, promptText } from "../test/harness/model-server.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { natsPlugin } from "../test/harness/nats-plugin.ts";
import { REPO_ROOT } from "../scripts/stage-plugin.ts";
import { Latencies } from "./lib/stats.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";

const N = Number(process.env.BENCH_WAKE_N ?? 12);
// The host's heartbeat flood guard defers a wake when an agent already had 5 heartbeat runs in the last
// 60 s (heartbeat-runner-scheduler: DEFAULT_FLOOD_THRESHOLD 5, WINDOW 60 s; not configurable). The NATS
// path wakes agent "main", the floor wakes agent "floor", and each is woken at most once every ~14 s.
const SETTLE_MS = 7000;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));
const epochMs = (): number => performance.timeOrigin + performance.now();

const server = await NatsServer.start();
const model = await ScriptedModel.start();
const gw = await TestGateway.start({
  model,
  plugins: [natsPlugin({ url: server.url, events: { enabled: false } }), { path: join(REPO_ROOT, "test/fixtures/probe-plugin"), id: "probe" }],
  agents: ["main", "floor", "direct"],
  readyLog: /nats: subscribed to/,
});
const nc = await connect({ servers: server.url });
const viaNats = new Latencies();
const floor = new Latencies();
const direct = new Latencies();
try {
  // Warm-up: the first wake after boot creates the session and is much slower.
  nc.publish("agent.main.inbox", JSON.stringify({ from: "bench", body: "warm-up main", priority: "urgent" }));
  await gw.call("probe.wake", { text: "warm-up floor", sessionKey: "agent:floor:main" });
  await model.waitFor((r) => promptText(r).includes("warm-up main"), 120_000);
  await model.waitFor((r) => promptText(r).includes("warm-up floor"), 120_000);
  for (let i = 0; i < N; i++) {
    await settle();
    const natsText = `bench-nats-${i}-${Date.now()}`;
    const t0 = epochMs();
    nc.publish("agent.main.inbox", JSON.stringify({ from: "bench", body: natsText, priority: "urgent" }));
    const r1 = await model.waitFor((r) => promptText(r).includes(natsText), 60_000);
    viaNats.add((r1.receivedAtHr - t0) * 1000);

    await settle();
    const floorText = `bench-floor-${i}-${Date.now()}`;
    const { enqueuedAt } = (await gw.call("probe.wake", { text: floorText, sessionKey: "agent:floor:main" })) as { enqueuedAt: number };
    const r2 = await model.waitFor((r) => promptText(r).includes(floorText), 60_000);
    floor.add((r2.receivedAtHr - enqueuedAt) * 1000);

    const directText = `bench-direct-${i}-${Date.now()}`;
    const t3 = epochMs();
    const answered = nc.request("agent.direct.inbox", JSON.stringify({ from: "bench", body: directText, expectReply: true }), { timeout: 60_000 });
    const r3 = await model.waitFor((r) => promptText(r).includes(directText), 60_000);
    direct.add((r3.receivedAtHr - t3) * 1000);
    await answered;
    process.stderr.write(`  ${i + 1}/${N}: nats ${Math.round(r1.receivedAtHr - t0)} ms, floor ${Math.round(r2.receivedAtHr - enqueuedAt)} ms, subagent.run ${Math.round(r3.receivedAtHr - t3)} ms\n`);
  }
  type Summary = { count: number; p50: number; p99: number; max: number };
  const status = (await gw.call("nats.status")) as { wake: { injectMicros: Summary; hostMicros: Summary } };
  const share = status.wake.injectMicros;
  const host = status.wake.hostMicros;
  const a = viaNats.summary();
  const c = floor.summary();
  const d = direct.summary();
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const rows: Row[] = [
    { id: "a", scenario: "plugin share: arrival → enqueued + wake requested", value: share.p50, unit: "µs p50", detail: `p99 ${share.p99} µs, max ${share.max} µs, n=${share.count}` },
    { id: "a'", scenario: "  of which the host's enqueueSystemEvent + requestHeartbeat", value: host.p50, unit: "µs p50", detail: `p99 ${host.p99} µs` },
    { id: "b", scenario: "NATS publish → model request", value: ms(a.p50), unit: "ms p50", detail: `p99 ${ms(a.p99)} ms, n=${a.count}` },
    { id: "c", scenario: "gateway floor: enqueue → model request (no NATS)", value: ms(c.p50), unit: "ms p50", detail: `p99 ${ms(c.p99)} ms, n=${c.count}` },
    { id: "b-c", scenario: "NATS path minus floor (p50)", value: Math.round((ms(a.p50) - ms(c.p50)) * 10) / 10, unit: "ms" },
    { id: "d", scenario: "NATS expectReply → model request (subagent.run turn)", value: ms(d.p50), unit: "ms p50", detail: `p99 ${ms(d.p99)} ms, n=${d.count}` },
  ];
  printTable(`bench:wake — ${N} urgent wakes, one at a time, real gateway + nats-server`, rows);
  writeJson("bench/results/wake.json", { date: new Date().toISOString(), n: N, pluginShareMicros: share, hostCallMicros: host, publishToModelMicros: a, floorMicros: c, subagentRunMicros: d, rows });
} finally {
  await nc.close();
  await gw.dispose();
  await model.close();
  await server.stop();
}
