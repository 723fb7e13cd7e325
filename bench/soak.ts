// npm run soak — mixed load through one real gateway while its NATS server restarts and the gateway is
// SIGKILLed and restarted on a schedule; at the end, what was lost, duplicated or handled twice. Not part
// of npm test (minutes of wall time and several gateway boots); see docs/testing.md#soak.
//   load:   durable wakes (JetStream-acked, urgent and normal), custom events (nats.events.record),
//           agent-protocol prompts, relay turns (POST /notify)
//   faults: nats-server restarted every SOAK_NATS_EVERY_S (SIGTERM and SIGKILL in turn), the gateway
//           SIGKILLed every SOAK_GATEWAY_EVERY_S and started again (same state dir)
//   checks: every acked durable wake reached the model exactly once; every event id the gateway returned
//           is in the stream exactly once, and no id is there twice; RSS and open fds after warm-up, per
//           gateway incarnation; uncaught errors in the gateway's log.
// SOAK_MINUTES (default 3) sets the load phase; the drain and checks afterwards take a minute or two more.
// Writes bench/results/soak.json; exits 1 when something was lost or doubled.
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { TestGateway } from "../test/harness/gateway.ts";
import { ScriptedModel, promptText } from "../test/harness/model-server.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { natsPlugin } from "../test/harness/nats-plugin.ts";
import { markerTurns } from "../test/harness/turns.ts";
import { integrityProblems, readStream, retry, waitFor } from "../test/reliability/helpers.ts";
import { eventLoop, newLoadState, promptLoop, relayLoop, sampleProc, sleep, wakeLoop, type ProcSample } from "./lib/soak-load.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 3);
const NATS_EVERY_S = Number(process.env.SOAK_NATS_EVERY_S ?? 45);
const GATEWAY_EVERY_S = Number(process.env.SOAK_GATEWAY_EVERY_S ?? 80);
const WARMUP_S = Number(process.env.SOAK_WARMUP_S ?? 20);
const RELAY_TOKEN = "soak-relay-token-0123456789abcdef";
const log = (m: string): void => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

const server = await NatsServer.start();
const model = await ScriptedModel.start();
model.reply((req) => ({ text: `soak reply to: ${promptText(req).slice(-80)}` }));
const gw = await TestGateway.start({
  model,
  agents: ["main", "ap", "relay"],
  plugins: [
    natsPlugin({
      url: server.url,
      inbox: { durable: true },
      reconnect: { delayMs: 200, maxDelayMs: 1000 },
      agentProtocol: { enabled: true, owner: "soak", heartbeatIntervalS: 2, keepAliveS: 1 },
      relay: { authToken: RELAY_TOKEN, trustUnsignedCallers: true },
    }),
  ],
  readyLog: /durable inbox OPENCLAW_INBOX\/openclaw-gateway-main consuming/,
  timeoutMs: 300_000,
});
const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
const state = newLoadState();
const samples: ProcSample[] = [];
const faults: string[] = [];
let boot = 1;
let readyAt = Date.now();
let gatewayUp = true;
const t0 = Date.now();
const loadEnd = t0 + MINUTES * 60_000;
const running = (): boolean => Date.now() < loadEnd;
let exitCode = 0;

async function faultLoop(): Promise<void> {
  let nextNats = t0 + NATS_EVERY_S * 1000;
  let nextGateway = t0 + GATEWAY_EVERY_S * 1000;
  let natsKills = 0;
  while (running()) {
    const due = Math.min(nextNats, nextGateway);
    if (due > loadEnd) break;
    await sleep(Math.max(0, due - Date.now()));
    if (nextNats <= nextGateway) {
      const hard = natsKills++ % 2 === 1;
      log(`nats-server ${hard ? "SIGKILL" : "SIGTERM"} + restart`);
      await (hard ? server.kill() : server.stop());
      await sleep(2000);
      await server.restart();
      faults.push(`${Math.round((Date.now() - t0) / 1000)} s: nats-server ${hard ? "SIGKILL" : "SIGTERM"}, back after 2 s`);
      nextNats = Math.max(nextNats + NATS_EVERY_S * 1000, Date.now() + (NATS_EVERY_S * 1000) / 2); // no catch-up burst after a long gateway boot
    } else {
      log("gateway SIGKILL + restart");
      gatewayUp = false;
      await gw.kill();
      const killedAt = Date.now();
      await gw.restart();
      boot++;
      readyAt = Date.now();
      gatewayUp = true;
      faults.push(`${Math.round((killedAt - t0) / 1000)} s: gateway SIGKILL, ready again after ${Math.round((readyAt - killedAt) / 1000)} s`);
      nextGateway = readyAt + GATEWAY_EVERY_S * 1000;
    }
  }
}

async function sampleLoop(): Promise<void> {
  while (running()) {
    const s = gatewayUp ? sampleProc(gw.pid) : undefined;
    if (s) samples.push({ boot, upS: Math.round((Date.now() - readyAt) / 1000), ...s });
    await sleep(5000);
  }
}

try {
  log(`gateway ready; ${MINUTES} min of load, nats-server restart every ${NATS_EVERY_S} s, gateway SIGKILL every ${GATEWAY_EVERY_S} s`);
  const targets = { nc, gw, relayToken: RELAY_TOKEN, promptSubject: "agents.prompt.oc.soak.ap", running };
  await Promise.all([
    faultLoop(),
    sampleLoop(),
    wakeLoop(targets, state, 1500),
    eventLoop(targets, state, 250, 4),
    promptLoop(targets, state, 3000),
    relayLoop(targets, state, 5000),
  ]);
  log("load over; a last urgent wake carries what is still queued, then the checks");
  const js = jetstream(nc, { timeout: 3000 });
  await retry("final wake", () => js.publish("agent.main.inbox", JSON.stringify({ from: "soak", body: "soak wake sk-final", priority: "urgent" }), { msgID: "sk-final" }), 60_000);
  const markers = [...state.wakeMarkers, "sk-final"];
  const seenAll = (): boolean => markerTurns(model.requests, markers).firstTurn.size === markers.length;
  await waitFor("every durable wake reaches the model", seenAll, 240_000).catch((err: Error) => log(err.message));
  const jsm = await jetstreamManager(nc);
  await waitFor("inbox drained", async () => (await jsm.streams.info("OPENCLAW_INBOX")).state.messages === 0, 120_000).catch((err: Error) => log(err.message));
  type Status = { events?: { spoolDepth?: number } };
  await waitFor("spool drained", async () => ((await gw.call("nats.status")) as Status).events?.spoolDepth === 0, 120_000).catch((err: Error) => log(err.message));
  // Redeliveries of anything acked late show within one ack wait (30 s): give them that chance before counting.
  await sleep(Number(process.env.SOAK_SETTLE_S ?? 35) * 1000);

  const seen = markerTurns(model.requests, markers);
  const never = markers.filter((m) => !seen.timesSeen.has(m));
  const twice = markers.filter((m) => (seen.timesSeen.get(m) ?? 0) > 1);
  const stored = await retry("reading the event stream", () => readStream(nc, "openclaw-events"));
  const count = new Map<string, number>();
  for (const e of stored) count.set(e.event.id, (count.get(e.event.id) ?? 0) + 1);
  const lost = state.eventIds.filter((id) => !count.has(id));
  const dupIds = [...count.values()].filter((n) => n > 1).length;
  const problems = integrityProblems(stored).filter((p) => !p.includes("meta.seq"));
  const eventText = stored.map((e) => JSON.stringify(e.event.payload)).join("\n");
  const wakesWithoutEvents = markers.filter((m) => seen.timesSeen.has(m) && !eventText.includes(m));
  const relaySeen = markerTurns(model.requests, state.relayMarkers);
  const uncaught = gw.logs().split("\n").filter((l) => /uncaught|unhandled ?rejection/i.test(l));

  const byBoot = new Map<number, ProcSample[]>();
  for (const s of samples) if (s.upS >= WARMUP_S) byBoot.set(s.boot, [...(byBoot.get(s.boot) ?? []), s]);
  const rows: Row[] = [
    { id: "w", scenario: "durable wakes acked by JetStream", value: markers.length, unit: "wakes", detail: `${state.wakes.failed} not accepted within 60 s` },
    { id: "w1", scenario: "  reached the model exactly once", value: markers.length - never.length - twice.length, unit: "wakes", compare: `= ${markers.length}`, meetsTarget: never.length === 0 && twice.length === 0, detail: `never ${never.length}${never.length ? ` (${never.slice(0, 5).join(" ")})` : ""}, twice+ ${twice.length}${twice.length ? ` (${twice.slice(0, 5).join(" ")})` : ""}` },
    { id: "w2", scenario: "  whose turn is in the event stream", value: markers.length - never.length - wakesWithoutEvents.length, unit: "wakes", detail: wakesWithoutEvents.length ? `missing: ${wakesWithoutEvents.slice(0, 5).join(" ")}` : "all" },
    { id: "e", scenario: "custom events the gateway returned an id for", value: state.eventIds.length, unit: "events", detail: `${state.events.failed} calls failed (gateway down: not recorded)` },
    { id: "e1", scenario: "  lost (id not in the stream)", value: lost.length, unit: "events", compare: "0", meetsTarget: lost.length === 0 },
    { id: "e2", scenario: "  ids stored twice in the stream (all events)", value: dupIds, unit: "ids", compare: "0", meetsTarget: dupIds === 0 && problems.length === 0, detail: `${stored.length} events stored; ${problems.length} integrity problem(s)` },
    { id: "p", scenario: "agent-protocol prompts answered", value: state.prompts.ok, unit: `of ${state.prompts.sent}`, detail: state.prompts.lastError ? `last failure: ${state.prompts.lastError}` : "" },
    { id: "r", scenario: "relay turns (POST /notify) answered", value: state.relay.ok, unit: `of ${state.relay.sent}`, detail: `${relaySeen.firstTurn.size} reached the model, ${[...relaySeen.timesSeen.values()].filter((n) => n > 1).length} twice${state.relay.lastError ? `; last failure: ${state.relay.lastError}` : ""}` },
    { id: "f", scenario: "faults", value: faults.length, unit: "faults", detail: faults.join("; ") },
    { id: "u", scenario: "uncaught / unhandled-rejection lines in the gateway log", value: uncaught.length, unit: "lines", compare: "0", meetsTarget: uncaught.length === 0, detail: uncaught[0]?.slice(0, 160) ?? "" },
  ];
  for (const [b, list] of byBoot) {
    const first = list[0];
    const last = list[list.length - 1];
    rows.push({ id: `m${b}`, scenario: `gateway #${b}: RSS / fds after ${WARMUP_S} s warm-up → last sample`, value: Math.round((last.rssMiB - first.rssMiB) * 10) / 10, unit: "MiB RSS growth", detail: `${first.rssMiB} → ${last.rssMiB} MiB, fds ${first.fds} → ${last.fds}, ${first.upS}–${last.upS} s up, ${list.length} samples` });
  }
  printTable(`npm run soak — ${MINUTES} min of load, real gateway + nats-server, ${faults.length} faults`, rows);
  writeJson(new URL("./results/soak.json", import.meta.url).pathname, { date: new Date().toISOString(), minutes: MINUTES, natsEveryS: NATS_EVERY_S, gatewayEveryS: GATEWAY_EVERY_S, rows, samples, faults, load: { wakes: state.wakes, events: state.events, prompts: state.prompts, relay: state.relay }, never, twice, lost: lost.slice(0, 50), uncaught: uncaught.slice(0, 20) });
  if (never.length || twice.length || lost.length || dupIds || problems.length) exitCode = 1;
} catch (err) {
  process.stderr.write(`${gw.logs().split("\n").filter((l) => /nats|error/i.test(l)).slice(-40).join("\n")}\n`);
  throw err;
} finally {
  await nc.close();
  await gw.dispose();
  await model.close();
  await server.stop();
}
process.exit(exitCode);
