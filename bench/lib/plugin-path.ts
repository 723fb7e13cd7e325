import { parseConfig } from "../../src/config/parse.ts";
import type { NatsLink } from "../../src/connection/link.ts";
import type { EventInput } from "../../src/events/envelope.ts";
import { EventStore } from "../../src/events/store.ts";
import type { Logger } from "../../src/shared/logger.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Latencies, nowMs, timeUs, yieldToLoop } from "./stats.ts";

export const quietLogger: Logger = { info: () => {}, warn: (m) => console.error(m), error: (m) => console.error(m) };

export interface PluginRunOptions {
  /** Stream and subject prefix are derived from it, so each scenario has its own stream. */
  name: string;
  inFlight: number;
  payloadBytes: number;
  durationMs: number;
  /** Stop recording while this many events wait in the spool (the drain's back-pressure on the producer). */
  highWater?: number;
  /** events.replicas of the scenario's stream (3 on the cluster rows). */
  replicas?: number;
}

export interface PluginRun {
  /** Events recorded and acked by JetStream. */
  count: number;
  /** From the first record() to the spool being empty again. */
  ms: number;
  /** record() durations seen while the pipeline was saturated. */
  record: Latencies;
  stream: string;
}

export function sampleEvent(payloadBytes: number, n: number): EventInput {
  return {
    agent: "main",
    session: `s${n % 16}`,
    type: "msg.in",
    visibility: "internal",
    payload: { text: "x".repeat(payloadBytes) },
    meta: { runId: "bench-run", seq: n, channel: "bench" },
  };
}

export async function openStore(link: NatsLink, name: string, inFlight: number, replicas?: number): Promise<{ store: EventStore; stream: string }> {
  const stream = `bench-${name}`;
  const config = parseConfig({ events: { streamName: stream, subjectPrefix: `bench.${name}`, spool: { inFlight }, ...(replicas ? { replicas } : {}) } }).events;
  const store = new EventStore({ config, stateDir: mkdtempSync(join(tmpdir(), `bench-${name}-`)), link, logger: quietLogger });
  await store.start();
  for (;;) {
    const s = await store.status();
    if (s.streams[0].provisioned !== "pending") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { store, stream };
}

/**
 * Events through the plugin's whole path (record → spool → JetStream ack) for `durationMs`:
 * the producer records in bursts whenever fewer than `highWater` events wait, so the
 * figure is what the pipeline sustains, not how fast SQLite can take inserts.
 */
export async function pluginThroughput(link: NatsLink, opts: PluginRunOptions): Promise<PluginRun> {
  const { store, stream } = await openStore(link, opts.name, opts.inFlight, opts.replicas);
  const highWater = opts.highWater ?? Math.max(64, opts.inFlight * 4);
  const burst = Math.max(1, Math.min(256, opts.inFlight));
  const events = Array.from({ length: 64 }, (_, i) => sampleEvent(opts.payloadBytes, i));
  const record = new Latencies();
  const t0 = nowMs();
  let n = 0;
  while (nowMs() - t0 < opts.durationMs) {
    if (store.spoolDepth < highWater) {
      for (let i = 0; i < burst; i++, n++) {
        const e = events[n & 63];
        record.add(timeUs(() => store.record(e)));
      }
    }
    await yieldToLoop();
  }
  if (!(await store.flush(120_000))) throw new Error(`${opts.name}: spool did not drain`);
  const ms = nowMs() - t0;
  const status = await store.status();
  await store.stop();
  if (status.streamMessages !== n) throw new Error(`${opts.name}: ${n} recorded but the stream holds ${status.streamMessages}`);
  return { count: n, ms, record, stream };
}

/**
 * record()'s cost on the agent's path while the drain publishes in the background: `perTick`
 * events back to back every `tickMs` (the first of each tick finds the CPU caches cold).
 */
export async function recordCost(link: NatsLink, perTick: number, tickMs: number, durationMs: number, payloadBytes: number): Promise<Latencies> {
  const { store } = await openStore(link, `record-cost-${perTick}-${tickMs}`, 512);
  const record = new Latencies();
  const t0 = nowMs();
  let n = 0;
  while (nowMs() - t0 < durationMs) {
    for (let i = 0; i < perTick; i++, n++) {
      const e = sampleEvent(payloadBytes, n);
      record.add(timeUs(() => store.record(e)));
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await store.flush(60_000);
  await store.stop();
  return record;
}
