import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { newEventId } from "../../src/events/envelope.ts";
import { AckPublisher } from "../../src/spool/ack-publisher.ts";
import { nowMs } from "./stats.ts";

export interface Run {
  count: number;
  ms: number;
}

export async function addStream(nc: NatsConnection, name: string, subject: string, replicas = 1): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [subject], num_replicas: replicas });
}

/**
 * The bare nats.js client publishing to JetStream with `window` publishes awaiting their ack
 * (each with a fresh Nats-Msg-Id, like the plugin), for `durationMs`: the ceiling for the plugin.
 */
export function bareWindowed(nc: NatsConnection, subject: string, data: string, window: number, durationMs: number): Promise<Run> {
  const js = jetstream(nc, { timeout: 10_000 });
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let inFlight = 0;
    let acked = 0;
    let stopping = false;
    const pump = (): void => {
      if (!stopping && nowMs() - t0 >= durationMs) stopping = true;
      while (!stopping && inFlight < window) {
        inFlight++;
        js.publish(subject, data, { msgID: newEventId() }).then(() => {
          inFlight--;
          acked++;
          if (stopping && inFlight === 0) resolve({ count: acked, ms: nowMs() - t0 });
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

/**
 * The same window with the plugin's publish technique (PUB + reply inbox + PubAck callback, see
 * AckPublisher) and nothing else: no spool, no envelope. The ceiling for that technique.
 */
export function bareAckPublisher(nc: NatsConnection, subject: string, data: string, window: number, durationMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let inFlight = 0;
    let acked = 0;
    let stopping = false;
    let token = 0;
    const pump = (): void => {
      if (!stopping && nowMs() - t0 >= durationMs) stopping = true;
      while (!stopping && inFlight < window) {
        inFlight++;
        publisher.publish(nc, subject, data, newEventId(), String(token++));
      }
    };
    const publisher = new AckPublisher((_token, result) => {
      if (!result.ok) return reject(new Error(result.error));
      inFlight--;
      acked++;
      if (stopping && inFlight === 0) {
        publisher.close();
        resolve({ count: acked, ms: nowMs() - t0 });
      } else pump();
    });
    pump();
  });
}

/** One publish at a time, each awaited (the pattern of the seed's "sequential" figure). */
export async function bareSequential(nc: NatsConnection, subject: string, data: string, durationMs: number): Promise<Run> {
  const js = jetstream(nc, { timeout: 10_000 });
  const t0 = nowMs();
  let count = 0;
  while (nowMs() - t0 < durationMs) {
    await js.publish(subject, data, { msgID: newEventId() });
    count++;
  }
  return { count, ms: nowMs() - t0 };
}

/** Reads a whole stream with an ordered consumer, parsing each message as JSON (as a consumer of events would). */
export async function consumerRead(nc: NatsConnection, stream: string): Promise<Run> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(stream)).state.messages;
  const t0 = nowMs();
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 4096 });
  let count = 0;
  let check = 0;
  for await (const m of messages) {
    const event = m.json<{ id: string }>();
    check += event.id.length;
    count++;
    if (count >= total || m.info.pending === 0) break;
  }
  await messages.close();
  if (check === 0 && count > 0) throw new Error("events without ids");
  return { count, ms: nowMs() - t0 };
}
