import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { deadLetter, deadLetterRecord, ensureDeadLetterStream, type Rejection } from "./dead-letter.ts";
import { jsDomain } from "../connection/domain.ts";

const RECREATE_EVERY_MS = 60_000;
const PUBLISH_TIMEOUT_MS = 5000;

type DlqConfig = Pick<NatsPluginConfig, "deadLetterSubject" | "deadLetterStream">;

/**
 * Dead letters for messages JetStream still holds (the durable inbox). The copy is published with a
 * JetStream ack, and only an acked copy lets the caller remove the original: with the dead-letter stream
 * missing (deleted, no permission, full) the original stays in the inbox, so a message is always in one of
 * the two. A missing stream is created again (at most once a minute). With deadLetterStream.enabled off
 * dead letters are for live subscribers only by configuration: core publish, as for core messages.
 */
export class DeadLetterStore {
  private readonly cfg: DlqConfig;
  private readonly log: Logger;
  private lastRecreate = 0;

  constructor(cfg: DlqConfig, log: Logger) {
    this.cfg = cfg;
    this.log = log;
  }

  /** true once a dead-letter stream holds the copy (or the config wants live-only dead letters); false: keep the original. */
  async store(nc: NatsConnection, rej: Rejection, extra: Record<string, unknown> = {}): Promise<boolean> {
    if (!this.cfg.deadLetterStream.enabled) {
      deadLetter(nc, this.cfg.deadLetterSubject, rej, this.log, extra);
      return true;
    }
    this.log.warn(`nats: rejected message on ${rej.subject}: ${rej.reason}`);
    const { headers, payload } = deadLetterRecord(rej, extra);
    const publish = () => jetstream(nc, jsDomain(nc)).publish(this.cfg.deadLetterSubject, payload, { headers, timeout: PUBLISH_TIMEOUT_MS });
    try {
      await publish();
      return true;
    } catch (first) {
      if (Date.now() - this.lastRecreate > RECREATE_EVERY_MS && !nc.isClosed()) {
        this.lastRecreate = Date.now();
        if (await ensureDeadLetterStream(nc, this.cfg, this.log)) {
          try {
            await publish();
            return true;
          } catch (err) {
            first = err;
          }
        }
      }
      this.log.warn(`nats: dead letter for ${rej.subject} not stored in ${this.cfg.deadLetterStream.name} (${errorMessage(first)}); the message stays in the inbox and is retried`);
      return false;
    }
  }
}
