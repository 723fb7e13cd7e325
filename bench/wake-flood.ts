// npm run bench:wake-flood — issue #18's flood through a real gateway: 20,000 low-priority wakes, each
// with a distinct made-up session key (a sender choosing the keys), then one urgent wake.
//   baseline (same run): the gateway's RSS after a warm-up turn, before the flood
//   (a) RSS after the flood has been handled (every message received and answered: injected or refused),
//       and again after a settle: growth must stay within +200 MiB (issue #18)
//   (b) what became of the flood: handed to a session, refused (new-session caps, in-flight cap) with a DLQ copy
//   (c) an urgent wake published after the flood → the model request carrying it (issue: within 15 s)
// Env: BENCH_FLOOD_N (20000), BENCH_FLOOD_SENDERS (how many `from` values the flood uses; 100),
// BENCH_FLOOD_CAPS=off (raise the new-session caps to 100,000 to see what they hold back; not the default).
import { connect } from "@nats-io/transport-node";
import { TestGateway } from "../test/harness/gateway.ts";
import { ScriptedModel, promptText } from "../test/harness/model-server.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { natsPlugin } from "../test/harness/nats-plugin.ts";
import { turnText } from "../test/harness/turns.ts";
import { wakeFigures } from "../test/harness/wait.ts";
import { sampleProc, sleep } from "./lib/soak-load.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";

const N = Number(process.env.BENCH_FLOOD_N ?? 20_000);
const SENDERS = Number(process.env.BENCH_FLOOD_SENDERS ?? 100);
const CAPS_OFF = process.env.BENCH_FLOOD_CAPS === "off";
const SETTLE_MS = Number(process.env.BENCH_FLOOD_SETTLE_MS ?? 15_000);
const log = (m: string): void => console.error(`… ${m}`);

const server = await NatsServer.start();
const model = await ScriptedModel.start();
const wake = CAPS_OFF ? { newSessionsPerSenderPerMinute: 100_000, newSessionsPerMinute: 100_000 } : {};
const gw = await TestGateway.start({
  model,
  plugins: [natsPlugin({ url: server.url, events: { enabled: false }, wake })],
  readyLog: /nats: subscribed to/,
  timeoutMs: 300_000,
});
const nc = await connect({ servers: server.url });
const rss = (): number => sampleProc(gw.pid)?.rssMiB ?? NaN;
const fds = (): number => sampleProc(gw.pid)?.fds ?? NaN;
try {
  log("warm-up turn");
  nc.publish("agent.main.inbox", JSON.stringify({ from: "bench", body: "flood warm-up", priority: "urgent" }));
  await model.waitFor((r) => promptText(r).includes("flood warm-up"), 300_000);
  await sleep(5000);
  const before = { rss: rss(), fds: fds(), wake: await wakeFigures(gw) };
  log(`baseline RSS ${before.rss} MiB, ${before.fds} fds; flooding ${N} low-priority wakes with distinct session keys`);

  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const body = JSON.stringify({ from: `flood-${i % SENDERS}`, body: `flood ${i}`, priority: "low", sessionKey: `agent:main:flood-${i}-${Math.random().toString(36).slice(2, 10)}` });
    nc.publish("agent.main.inbox", body);
    if (i % 500 === 499) await nc.flush(); // a fast sender, not a socket buffer of 20,000 messages
  }
  await nc.flush();
  const sentMs = performance.now() - t0;
  // Every message counted by the plugin (received = injected + refused, and nothing still in hand).
  let after = await wakeFigures(gw);
  for (let quiet = 0; quiet < 10; ) {
    await sleep(1000);
    const now = await wakeFigures(gw);
    quiet = now.received === after.received && now.injected === after.injected && now.rejected === after.rejected ? quiet + 1 : 0;
    after = now;
  }
  const handledMs = performance.now() - t0;
  const atHandled = { rss: rss(), fds: fds() };
  log(`handled in ${Math.round(handledMs / 1000)} s: RSS ${atHandled.rss} MiB; settling ${SETTLE_MS} ms`);
  await sleep(SETTLE_MS);
  const settled = { rss: rss(), fds: fds() };

  log("urgent wake after the flood");
  const u0 = performance.timeOrigin + performance.now(); // the model server stamps receivedAtHr on the epoch scale
  nc.publish("agent.main.inbox", JSON.stringify({ from: "bench", body: "flood-urgent-after", priority: "urgent" }));
  const urgentReq = await model.waitFor((r) => turnText(r).includes("flood-urgent-after"), 120_000);
  const urgentMs = Math.round(urgentReq.receivedAtHr - u0);
  const end = { rss: rss(), fds: fds(), wake: await wakeFigures(gw) };

  const received = after.received - before.wake.received;
  const injected = after.injected - before.wake.injected;
  const refused = after.rejected - before.wake.rejected;
  const growth = Math.round((Math.max(atHandled.rss, settled.rss) - before.rss) * 10) / 10;
  const rows: Row[] = [
    { id: "base", scenario: "gateway RSS after a warm-up turn, before the flood (baseline)", value: before.rss, unit: "MiB", detail: `${before.fds} fds` },
    { id: "a", scenario: `RSS once all ${N.toLocaleString("en-US")} are handled / after ${SETTLE_MS / 1000} s more`, value: growth, unit: "MiB growth (max)", compare: "≤ +200", meetsTarget: growth <= 200, detail: `${atHandled.rss} / ${settled.rss} MiB; fds ${atHandled.fds} / ${settled.fds}` },
    { id: "b", scenario: `flood: received by the plugin (sent in ${Math.round(sentMs)} ms, handled in ${Math.round(handledMs / 1000)} s)`, value: received, unit: "wakes", detail: `${SENDERS} senders${CAPS_OFF ? ", new-session caps raised to 100,000" : ", default new-session caps"}` },
    { id: "b1", scenario: "  handed to a session (next-turn injection)", value: injected, unit: "wakes" },
    { id: "b2", scenario: "  refused with a dead letter (new-session caps, in-flight cap)", value: refused, unit: "wakes", detail: `not counted: ${N - received}` },
    { id: "c", scenario: "urgent wake after the flood → model request", value: urgentMs, unit: "ms", compare: "≤ 15,000", meetsTarget: urgentMs <= 15_000, detail: `RSS then ${end.rss} MiB` },
  ];
  printTable(`bench:wake-flood — ${N.toLocaleString("en-US")} low-priority wakes with distinct session keys, real gateway + nats-server`, rows);
  writeJson(new URL(`./results/wake-flood${CAPS_OFF ? "-caps-off" : ""}.json`, import.meta.url).pathname, {
    date: new Date().toISOString(),
    n: N,
    senders: SENDERS,
    capsOff: CAPS_OFF,
    rssMiB: { before: before.rss, handled: atHandled.rss, settled: settled.rss, end: end.rss },
    fds: { before: before.fds, handled: atHandled.fds, settled: settled.fds, end: end.fds },
    flood: { sentMs: Math.round(sentMs), handledMs: Math.round(handledMs), received, injected, refused },
    urgentAfterMs: urgentMs,
    rows,
  });
} catch (err) {
  process.stderr.write(`${gw.logs().split("\n").filter((l) => /nats|error/i.test(l)).slice(-40).join("\n")}\n`);
  throw err;
} finally {
  await nc.close();
  await gw.dispose();
  await model.close();
  await server.stop();
}
