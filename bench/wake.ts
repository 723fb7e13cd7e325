// npm run bench:wake — urgent NATS wakes through a real gateway, against the gateway's own floors.
//   (a) plugin share: message arrival → committed to the session store (next-turn injection) + wake turn asked
//   (b) NATS publish → the model server receives the request carrying the text (one message at a time)
//   (c) floor 1: system event + heartbeat wake → model request, no NATS (a probe plugin's gateway method)
//   (c') floor 2: subagent.run turn → model request, no NATS (the wake path the plugin uses; probe.turn)
//   (d) expectReply: a NATS message that runs a turn through the relay (subagent.run) → model request
//   (s) storm: 30 urgent messages for one agent within a minute (one every 2 s): per-message publish → the
//       model request whose turn carries it, p50/p99, and turns taken per message. The host's heartbeat
//       flood guard (5 heartbeat runs/min per agent) would defer wakes 6..30 by up to ~45 s; wake turns go
//       through subagent.run, which the guard never sees, and messages arriving during a turn ride the next.
//   (r) durable wakes (inbox.durable), R1 on one nats-server and R3 on a 3-node cluster, side by side in this
//       run (bench/lib/durable-wake.ts; two more gateways, booted after the one above is stopped).
// One-at-a-time messages alternate NATS and floors so all see the same load, with a pause before each.
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import { TestGateway } from "../test/harness/gateway.ts";
import { ScriptedModel, promptText, type RecordedRequest } from "../test/harness/model-server.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { natsPlugin } from "../test/harness/nats-plugin.ts";
import { turnText } from "../test/harness/turns.ts";
import { REPO_ROOT } from "../scripts/stage-plugin.ts";
import { Latencies } from "./lib/stats.ts";
import { durableWakes } from "./lib/durable-wake.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";

const N = Number(process.env.BENCH_WAKE_N ?? 8);
const STORM = Number(process.env.BENCH_WAKE_STORM ?? 30);
const STORM_SPACING_MS = Number(process.env.BENCH_WAKE_STORM_SPACING_MS ?? 2000);
// The heartbeat floor (c) is subject to the host's flood guard (5 heartbeat runs per agent per 60 s):
// its agent "floor" is woken at most once per round, rounds are at least ~14 s apart.
const SETTLE_MS = 7000;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const epochMs = (): number => performance.timeOrigin + performance.now();

const server = await NatsServer.start();
const model = await ScriptedModel.start();
const gw = await TestGateway.start({
  model,
  plugins: [natsPlugin({ url: server.url, events: { enabled: false }, relay: { trustUnsignedCallers: true } }), { path: join(REPO_ROOT, "test/fixtures/probe-plugin"), id: "probe" }],
  agents: ["main", "floor", "turnfloor", "direct", "storm"],
  readyLog: /nats: subscribed to/,
  timeoutMs: 300_000,
});
const nc = await connect({ servers: server.url });
const viaNats = new Latencies();
const floor = new Latencies();
const turnFloor = new Latencies();
const direct = new Latencies();
const storm = new Latencies();
const firstTurnOf = (text: string) => (r: RecordedRequest) => turnText(r).includes(text);
try {
  // Warm-up: the first wake of a session creates it and is much slower; the storm agent gets its session too.
  for (const agent of ["main", "storm"]) {
    nc.publish(`agent.${agent}.inbox`, JSON.stringify({ from: "bench", body: `warm-up ${agent}`, priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes(`warm-up ${agent}`), 300_000);
  }
  await gw.call("probe.wake", { text: "warm-up floor", sessionKey: "agent:floor:main" });
  await gw.call("probe.turn", { text: "warm-up turnfloor", sessionKey: "agent:turnfloor:main" }, 120_000);
  for (const w of ["warm-up floor", "warm-up turnfloor"]) await model.waitFor((r) => promptText(r).includes(w), 300_000);
  for (let i = 0; i < N; i++) {
    await settle();
    const natsText = `bench-nats-${i}-${Date.now()}`;
    const t0 = epochMs();
    nc.publish("agent.main.inbox", JSON.stringify({ from: "bench", body: natsText, priority: "urgent" }));
    const r1 = await model.waitFor(firstTurnOf(natsText), 120_000);
    viaNats.add((r1.receivedAtHr - t0) * 1000);

    await settle();
    const floorText = `bench-floor-${i}-${Date.now()}`;
    const { enqueuedAt } = (await gw.call("probe.wake", { text: floorText, sessionKey: "agent:floor:main" })) as { enqueuedAt: number };
    const r2 = await model.waitFor((r) => promptText(r).includes(floorText), 120_000);
    floor.add((r2.receivedAtHr - enqueuedAt) * 1000);

    const turnText2 = `bench-turnfloor-${i}-${Date.now()}`;
    const called = gw.call("probe.turn", { text: turnText2, sessionKey: "agent:turnfloor:main" }, 120_000) as Promise<{ calledAt: number }>;
    const r4 = await model.waitFor((r) => promptText(r).includes(turnText2), 120_000);
    const { calledAt } = await called;
    turnFloor.add((r4.receivedAtHr - calledAt) * 1000);

    const directText = `bench-direct-${i}-${Date.now()}`;
    const t3 = epochMs();
    const answered = nc.request("agent.direct.inbox", JSON.stringify({ from: "bench", body: directText, expectReply: true }), { timeout: 120_000 });
    const r3 = await model.waitFor((r) => promptText(r).includes(directText), 120_000);
    direct.add((r3.receivedAtHr - t3) * 1000);
    await answered;
    process.stderr.write(
      `  ${i + 1}/${N}: nats ${Math.round(r1.receivedAtHr - t0)} ms, heartbeat floor ${Math.round(r2.receivedAtHr - enqueuedAt)} ms, subagent.run floor ${Math.round(r4.receivedAtHr - calledAt)} ms, expectReply ${Math.round(r3.receivedAtHr - t3)} ms\n`,
    );
  }

  // The storm: STORM urgent messages for agent "storm", one every STORM_SPACING_MS, without waiting for the model.
  await sleep(5000);
  const firstStormRequest = model.requests.length;
  const sent: Array<{ marker: string; at: number }> = [];
  const stormStart = epochMs();
  for (let i = 0; i < STORM; i++) {
    const marker = `storm-${String(i).padStart(2, "0")}-${Date.now()}`;
    sent.push({ marker, at: epochMs() });
    nc.publish("agent.storm.inbox", JSON.stringify({ from: "alertmanager", body: `alert ${marker}`, priority: "urgent" }));
    await sleep(STORM_SPACING_MS);
  }
  const stormSendMs = epochMs() - stormStart;
  const stormRequests = (): RecordedRequest[] => model.requests.slice(firstStormRequest);
  const turnsWithStorm = new Set<number>();
  for (const s of sent) {
    const r = await model.waitFor((q) => q.index >= firstStormRequest && turnText(q).includes(s.marker), 300_000);
    storm.add((r.receivedAtHr - s.at) * 1000);
    turnsWithStorm.add(r.index);
  }
  const stormTurns = stormRequests().filter((r) => sent.some((s) => turnText(r).includes(s.marker))).length;

  type Summary = { count: number; p50: number; p99: number; max: number };
  const status = (await gw.call("nats.status")) as {
    wake: { injectMicros: Summary; hostMicros: Summary; turns: { turns: number; coalesced: number; rateLimited: number } };
  };
  const share = status.wake.injectMicros;
  const host = status.wake.hostMicros;
  const a = viaNats.summary();
  const c = floor.summary();
  const c2 = turnFloor.summary();
  const d = direct.summary();
  const s = storm.summary();
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const rows: Row[] = [
    { id: "a", scenario: "plugin share: arrival → committed (next-turn injection) + wake asked", value: ms(share.p50), unit: "ms p50", detail: `p99 ${ms(share.p99)} ms, n=${share.count}` },
    { id: "a'", scenario: "  of which the host's enqueueNextTurnInjection commit", value: ms(host.p50), unit: "ms p50", detail: `p99 ${ms(host.p99)} ms` },
    { id: "b", scenario: "NATS publish → model request (one at a time)", value: ms(a.p50), unit: "ms p50", detail: `p99 ${ms(a.p99)} ms, n=${a.count}` },
    { id: "c", scenario: "floor: system event + heartbeat → model request (no NATS)", value: ms(c.p50), unit: "ms p50", detail: `p99 ${ms(c.p99)} ms, n=${c.count}` },
    { id: "c'", scenario: "floor: subagent.run turn → model request (no NATS)", value: ms(c2.p50), unit: "ms p50", detail: `p99 ${ms(c2.p99)} ms, n=${c2.count}` },
    { id: "b-c'", scenario: "NATS path minus the subagent.run floor (p50)", value: Math.round((ms(a.p50) - ms(c2.p50)) * 10) / 10, unit: "ms" },
    { id: "d", scenario: "NATS expectReply → model request (relay turn)", value: ms(d.p50), unit: "ms p50", detail: `p99 ${ms(d.p99)} ms, n=${d.count}` },
    {
      id: "s",
      scenario: `storm: ${STORM} urgent for one agent in ${Math.round(stormSendMs / 1000)} s, publish → model`,
      value: ms(s.p50),
      unit: "ms p50",
      detail: `p99 ${ms(s.p99)} ms, max ${ms(s.max)} ms`,
    },
    { id: "s-c'", scenario: "storm p99 minus the subagent.run floor p99", value: Math.round((ms(s.p99) - ms(c2.p99)) * 10) / 10, unit: "ms" },
    {
      id: "s turns",
      scenario: "storm: model turns that carried storm messages",
      value: stormTurns,
      unit: "turns",
      detail: `${Math.round((stormTurns / STORM) * 100) / 100} turns per message; plugin: ${status.wake.turns.coalesced} wakes coalesced, ${status.wake.turns.rateLimited} rate-limited`,
    },
  ];
  // (r) after the first gateway is gone: its load is not on the durable rows.
  await gw.dispose();
  const dur = await durableWakes(model, N, 2000);
  for (const [label, f] of [["R1 (one nats-server)", dur.r1], ["R3 (3-node cluster)", dur.r3]] as const) {
    const ack = f.ack.summary();
    const to = f.toModel.summary();
    rows.push({ id: `r ${label.slice(0, 2)}`, scenario: `durable wake, ${label}: js.publish → model request`, value: ms(to.p50), unit: "ms p50", detail: `p99 ${ms(to.p99)} ms; publish ack p50 ${ms(ack.p50)} ms, p99 ${ms(ack.p99)} ms; n=${to.count}` });
  }
  printTable(`bench:wake — ${N} urgent wakes one at a time + a ${STORM}-message storm, real gateway + nats-server`, rows);
  writeJson("bench/results/wake.json", {
    date: new Date().toISOString(),
    n: N,
    pluginShareMicros: share,
    hostCallMicros: host,
    publishToModelMicros: a,
    heartbeatFloorMicros: c,
    subagentRunFloorMicros: c2,
    expectReplyMicros: d,
    storm: { messages: STORM, spacingMs: STORM_SPACING_MS, sendMs: Math.round(stormSendMs), publishToModelMicros: s, turns: stormTurns, turnsPerMessage: stormTurns / STORM, plugin: status.wake.turns },
    durable: { r1: { ackMicros: dur.r1.ack.summary(), publishToModelMicros: dur.r1.toModel.summary() }, r3: { ackMicros: dur.r3.ack.summary(), publishToModelMicros: dur.r3.toModel.summary() } },
    rows,
  });
} catch (err) {
  process.stderr.write(`${gw.logs().split("\n").filter((l) => /nats|agent-command|error/i.test(l)).slice(-40).join("\n")}\n`);
  throw err;
} finally {
  await nc.close();
  await gw.dispose();
  await model.close();
  await server.stop();
}
