// npm run bench:trust — what the Agent-Sender check costs per message, against an unsigned baseline in the same run.
//   (a) verifySender on an unsigned message (the check finds no header): the baseline
//   (b) verifySender on a signed message (ts window, subject, nonce, SHA-256 of the payload, Ed25519 verify)
//   (c) signSender: what the nats tool (or an outside sender) pays per request
//   (d) the whole wake path in-process (parse, route, trust check, inject into a counting host stub), unsigned
//   (e) the same with signed messages: (e) − (d) is what signing adds to a wake
//   (f)/(g) over a real nats-server: unsigned / signed wakes published back to back to a subscriber that runs the
//       dispatcher, messages per second at the subscriber
// Samples alternate signed/unsigned in blocks so both see the same machine load.
import { loadavg } from "node:os";
import { join } from "node:path";
import { connect, headers, type MsgHdrs } from "@nats-io/transport-node";
import { parseConfig } from "../src/config/parse.ts";
import { NonceCache } from "../src/trust/nonce-cache.ts";
import { createUserSeed, signerFromSeed } from "../src/trust/nkey.ts";
import { signSender, verifySender } from "../src/trust/sender.ts";
import { WakeDispatcher } from "../src/wake/dispatcher.ts";
import { REPO_ROOT } from "../scripts/stage-plugin.ts";
import { NatsServer } from "../test/harness/nats-server.ts";
import { printTable, writeJson, type Row } from "./lib/report.ts";
import { Latencies, nowMs, perSecond } from "./lib/stats.ts";

const N = Number(process.env.BENCH_TRUST_N ?? 20_000);
const BLOCK = 500;
const NATS_N = Number(process.env.BENCH_TRUST_NATS_N ?? 5_000);
const enc = new TextEncoder();
const signer = signerFromSeed(createUserSeed());
const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const subject = "agent.main.inbox";

function message(i: number): Uint8Array {
  return enc.encode(JSON.stringify({ from: "bench", body: `wake number ${i}: disk usage on db-1 is above 90 %`, priority: "low" }));
}

function signedHeaders(data: Uint8Array): MsgHdrs {
  const h = headers();
  h.set("Agent-Sender", signSender({ signer, account: "$G", subject, payload: data }));
  return h;
}

function dispatcher(): { d: WakeDispatcher; events: () => number } {
  let events = 0;
  const system = { enqueueSystemEvent: () => (events++, true), requestHeartbeat: () => {} };
  const d = new WakeDispatcher(parseConfig({}), system as never, silent);
  const nonces = new NonceCache(30_000);
  d.verifySender = (msg, mode) => verifySender(msg, { mode, nonces, replayWindowMs: 30_000 });
  return { d, events: () => events };
}

const us = (t0: number): number => (nowMs() - t0) * 1000;

// Inputs prepared outside the timed sections: N payloads, N signed headers (fresh nonce each).
const payloads = Array.from({ length: N }, (_, i) => message(i));
const signTimes = new Latencies(N);
const signed: MsgHdrs[] = payloads.map((p) => {
  const t0 = nowMs();
  const h = signedHeaders(p);
  signTimes.add(us(t0));
  return h;
});

// (a) / (b): the check alone.
const verifyUnsigned = new Latencies(N);
const verifySigned = new Latencies(N);
const nonces = new NonceCache(30_000);
let verified = 0;
for (let start = 0; start < N; start += BLOCK) {
  for (let i = start; i < Math.min(N, start + BLOCK); i++) {
    const t0 = nowMs();
    verifySender({ subject, data: payloads[i] }, { mode: "live", nonces, replayWindowMs: 30_000 });
    verifyUnsigned.add(us(t0));
  }
  for (let i = start; i < Math.min(N, start + BLOCK); i++) {
    const t0 = nowMs();
    const check = verifySender({ subject, data: payloads[i], headers: signed[i] }, { mode: "live", nonces, replayWindowMs: 30_000 });
    verifySigned.add(us(t0));
    if (check.trust === "verified") verified++;
  }
}
if (verified !== N) throw new Error(`only ${verified} of ${N} signed messages verified`);

// (d) / (e): the whole in-process wake path. Signed messages need fresh headers (their nonces were used above).
const resigned = payloads.map((p) => signedHeaders(p));
const plainPath = new Latencies(N);
const signedPath = new Latencies(N);
const a = dispatcher();
const b = dispatcher();
for (let start = 0; start < N; start += BLOCK) {
  for (let i = start; i < Math.min(N, start + BLOCK); i++) {
    const t0 = nowMs();
    await a.d.dispatch(payloads[i], subject);
    plainPath.add(us(t0));
  }
  for (let i = start; i < Math.min(N, start + BLOCK); i++) {
    const t0 = nowMs();
    await b.d.dispatch(payloads[i], subject, performance.now(), { headers: resigned[i] });
    signedPath.add(us(t0));
  }
}
if (a.events() !== N || b.events() !== N) throw new Error(`wakes lost: unsigned ${a.events()}, signed ${b.events()} of ${N}`);

// (f) / (g): over a real nats-server, one subscriber running the dispatcher.
const server = await NatsServer.start({ jetstream: false });
const natsRates: Record<"unsigned" | "signed", number[]> = { unsigned: [], signed: [] };
try {
  const pub = await connect({ servers: server.url });
  const subConn = await connect({ servers: server.url });
  const natsPayloads = payloads.slice(0, NATS_N);
  for (let round = 0; round < 3; round++) {
    for (const kind of round % 2 === 0 ? (["unsigned", "signed"] as const) : (["signed", "unsigned"] as const)) {
      const { d, events } = dispatcher();
      const hdrs = kind === "signed" ? natsPayloads.map((p) => signedHeaders(p)) : [];
      let seen = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((r) => (done = r));
      const sub = subConn.subscribe(subject, {
        callback: (_e, m) => {
          void d.dispatch(m.data, m.subject, performance.now(), { headers: m.headers }).then(() => {
            if (++seen === NATS_N) done();
          });
        },
      });
      await subConn.flush();
      const t0 = nowMs();
      for (let i = 0; i < NATS_N; i++) pub.publish(subject, natsPayloads[i], kind === "signed" ? { headers: hdrs[i] } : undefined);
      await pub.flush();
      await finished;
      natsRates[kind].push(perSecond(NATS_N, nowMs() - t0));
      sub.unsubscribe();
      if (events() !== NATS_N) throw new Error(`${kind}: ${events()} of ${NATS_N} injected`);
    }
  }
  await pub.close();
  await subConn.close();
} finally {
  await server.stop();
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;

const vu = verifyUnsigned.summary();
const vs = verifySigned.summary();
const sg = signTimes.summary();
const pp = plainPath.summary();
const sp = signedPath.summary();
const rows: Row[] = [
  { id: "a", scenario: "check, unsigned message (baseline)", value: vu.p50, unit: "µs p50", detail: `p99 ${vu.p99} µs, mean ${vu.mean} µs, n=${vu.count}` },
  { id: "b", scenario: "check, signed message (Ed25519 verify + SHA-256 + nonce)", value: vs.p50, unit: "µs p50", detail: `p99 ${vs.p99} µs, mean ${vs.mean} µs, n=${vs.count}` },
  { id: "c", scenario: "sign one request (sender side)", value: sg.p50, unit: "µs p50", detail: `p99 ${sg.p99} µs, mean ${sg.mean} µs` },
  { id: "d", scenario: "wake path in-process, unsigned", value: pp.p50, unit: "µs p50", detail: `p99 ${pp.p99} µs, mean ${pp.mean} µs` },
  { id: "e", scenario: "wake path in-process, signed", value: sp.p50, unit: "µs p50", detail: `p99 ${sp.p99} µs, mean ${sp.mean} µs; +${Math.round((sp.p50 - pp.p50) * 100) / 100} µs over (d)` },
  { id: "f", scenario: `wakes over nats-server, unsigned (${NATS_N} back to back)`, value: median(natsRates.unsigned), unit: "msg/s", detail: `median of ${natsRates.unsigned.join(", ")}` },
  { id: "g", scenario: `wakes over nats-server, signed (${NATS_N} back to back)`, value: median(natsRates.signed), unit: "msg/s", detail: `median of ${natsRates.signed.join(", ")}` },
];
printTable(`Agent-Sender verification cost (npm run bench:trust; load average ${loadavg()[0].toFixed(1)})`, rows);
writeJson(join(REPO_ROOT, "bench", "results", "trust.json"), {
  ranAt: new Date().toISOString(),
  node: process.version,
  loadAverage1m: loadavg()[0],
  n: N,
  natsN: NATS_N,
  rows,
  raw: { verifyUnsigned: vu, verifySigned: vs, sign: sg, wakeUnsigned: pp, wakeSigned: sp, natsRates },
});
