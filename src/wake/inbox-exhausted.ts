import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { DeadLetterStore } from "./dead-letter-store.ts";

/**
 * A message whose last delivery was never acked (the gateway died while holding it, every time) is
 * reported by the server's MAX_DELIVERIES advisory: copy it to the dead-letter subject and remove it
 * from the stream. One gateway of the queue group handles each advisory.
 */
export class ExhaustedWatch {
  private readonly cfg: NatsPluginConfig;
  private readonly log: Logger;
  private readonly deadLetters: DeadLetterStore;
  private readonly onDeadLettered: () => void;
  private advisory: Subscription | undefined;

  constructor(cfg: NatsPluginConfig, log: Logger, deadLetters: DeadLetterStore, onDeadLettered: () => void) {
    this.cfg = cfg;
    this.log = log;
    this.deadLetters = deadLetters;
    this.onDeadLettered = onDeadLettered;
  }

  get watching(): boolean {
    return this.advisory !== undefined;
  }

  start(nc: NatsConnection, jsm: JetStreamManager): void {
    const stream = this.cfg.inbox.streamName;
    const prefix = this.cfg.inbox.consumerName;
    if (this.advisory) return; // subscribed by an earlier, partly failed start
    try {
      this.advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`, {
        queue: this.cfg.queueGroup,
        callback: (err, msg) => {
          if (err) return;
          let adv: { consumer?: unknown; stream_seq?: unknown; deliveries?: unknown };
          try {
            adv = msg.json();
          } catch {
            return;
          }
          const consumer = typeof adv.consumer === "string" ? adv.consumer : "";
          if (typeof adv.stream_seq !== "number" || !(consumer === prefix || consumer.startsWith(`${prefix}-`))) return;
          void this.exhausted(nc, jsm, adv.stream_seq, Number(adv.deliveries) || this.cfg.inbox.maxDeliver);
        },
      });
    } catch (err) {
      this.log.warn(`nats: durable inbox: cannot watch for exhausted messages (${errorMessage(err)}); a message whose every delivery times out stays in the stream until maxAgeHours`);
    }
  }

  stop(): void {
    try {
      this.advisory?.unsubscribe();
    } finally {
      this.advisory = undefined;
    }
  }

  private async exhausted(nc: NatsConnection, jsm: JetStreamManager, seq: number, deliveries: number): Promise<void> {
    const stream = this.cfg.inbox.streamName;
    try {
      const sm = await jsm.streams.getMessage(stream, { seq });
      if (!sm) return;
      // Removed from the inbox only once a dead-letter stream holds the copy; else it stays (until maxAgeHours).
      if (!(await this.deadLetters.store(nc, { subject: sm.subject, data: sm.data, headers: sm.header, reason: `not acknowledged after ${deliveries} deliveries (inbox.maxDeliver)` }, { streamSeq: seq }))) return;
      this.onDeadLettered();
      await jsm.streams.deleteMessage(stream, seq, false);
    } catch (err) {
      if (!/no message found/i.test(errorMessage(err))) this.log.warn(`nats: durable inbox: dead-lettering exhausted message ${seq} failed: ${errorMessage(err)}`);
    }
  }
}
