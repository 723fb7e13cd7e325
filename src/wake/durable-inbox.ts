import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { deadLetter } from "./dead-letter.ts";
import type { WakeDispatcher } from "./dispatcher.ts";

/** Ids of messages already injected, so a redelivery (ack lost, ack wait expired) is injected once. */
class RecentIds {
  private readonly ids = new Set<string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }
}

/**
 * A JetStream work-queue stream over the inbox subjects and one durable pull consumer: messages sent
 * while the gateway is down wait in the stream; each is acked only after it was injected.
 */
export class DurableInbox {
  private readonly cfg: NatsPluginConfig;
  private readonly dispatcher: WakeDispatcher;
  private readonly log: Logger;
  private readonly seen = new RecentIds(10_000);
  private messages: ConsumerMessages | undefined;
  private stopped = false;

  constructor(cfg: NatsPluginConfig, dispatcher: WakeDispatcher, log: Logger) {
    this.cfg = cfg;
    this.dispatcher = dispatcher;
    this.log = log;
  }

  /** Provision stream + consumer (idempotent) and start consuming. Called on every (re)connect. */
  async start(nc: NatsConnection): Promise<void> {
    if (this.messages) return; // consume() survives reconnects by itself
    const { streamName, consumerName, maxAgeHours, ackWaitMs, maxDeliver } = this.cfg.inbox;
    const jsm = await jetstreamManager(nc);
    const streamConfig = {
      name: streamName,
      subjects: this.cfg.subjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      max_age: nanos(maxAgeHours * 3_600_000),
      duplicate_window: nanos(120_000),
    };
    try {
      await jsm.streams.info(streamName);
      await jsm.streams.update(streamName, streamConfig);
    } catch (err) {
      if (!/stream not found/i.test(errorMessage(err))) throw err;
      await jsm.streams.add(streamConfig);
      this.log.info(`nats: created durable inbox stream ${streamName} on ${this.cfg.subjects.join(", ")}`);
    }
    await jsm.consumers.add(streamName, {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_deliver: maxDeliver,
    });
    const consumer = await jetstream(nc).consumers.get(streamName, consumerName);
    const messages = await consumer.consume({ max_messages: 64 });
    this.messages = messages;
    this.log.info(`nats: durable inbox ${streamName}/${consumerName} consuming`);
    void this.loop(nc, messages);
  }

  private async loop(nc: NatsConnection, messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopped) break;
        await this.handle(nc, m);
      }
    } catch (err) {
      this.log.warn(`nats: durable inbox stopped: ${errorMessage(err)}`);
    }
    if (this.messages === messages) this.messages = undefined;
  }

  private async handle(nc: NatsConnection, m: JsMsg): Promise<void> {
    const id = m.headers?.get("Nats-Msg-Id") || metadataId(m) || `${m.info.stream}:${m.seq}`;
    if (this.seen.has(id)) {
      m.ack();
      return;
    }
    try {
      const outcome = await this.dispatcher.dispatch(m.data, m.subject, performance.now(), { headers: m.headers, stored: true });
      if (outcome.kind === "rejected") {
        deadLetter(nc, this.cfg.deadLetterSubject, { subject: m.subject, data: m.data, reason: outcome.reason }, this.log);
        m.term(outcome.reason.slice(0, 200));
        return;
      }
      this.seen.add(id);
      await m.ackAck().catch(() => m.ack());
    } catch (err) {
      this.log.warn(`nats: durable inbox message ${id} failed, will be redelivered: ${errorMessage(err)}`);
      m.nak(1000);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const messages = this.messages;
    this.messages = undefined;
    if (messages) await messages.close().catch(() => undefined);
  }
}

function metadataId(m: JsMsg): string | undefined {
  try {
    const parsed: unknown = m.json();
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const meta = (parsed as { metadata?: unknown }).metadata;
    if (typeof meta !== "object" || meta === null) return undefined;
    const id = (meta as { id?: unknown }).id;
    return typeof id === "string" && id ? id : undefined;
  } catch {
    return undefined;
  }
}
