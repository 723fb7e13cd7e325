import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../shared/logger.ts";

export interface Rejection {
  subject: string;
  data: Uint8Array;
  reply?: string;
  reason: string;
}

/**
 * A rejected inbound message is never silent: one warning line, an error reply to the sender when it
 * asked for one, and a copy on the dead-letter subject with the reason attached.
 */
export function deadLetter(nc: NatsConnection | undefined, dlqSubject: string, rej: Rejection, log: Logger): void {
  log.warn(`nats: rejected message on ${rej.subject}: ${rej.reason}`);
  if (!nc || nc.isClosed()) {
    log.error(`nats: could not dead-letter message from ${rej.subject} (not connected)`);
    return;
  }
  try {
    if (rej.reply) nc.publish(rej.reply, JSON.stringify({ ok: false, error: rej.reason }));
    const h = headers();
    h.set("Openclaw-Dlq-Reason", rej.reason.slice(0, 1024).replace(/[\r\n]+/g, " "));
    h.set("Openclaw-Dlq-Subject", rej.subject);
    const text = decodeUtf8(rej.data);
    const record = {
      reason: rej.reason,
      subject: rej.subject,
      receivedAt: new Date().toISOString(),
      ...(text === undefined ? { dataBase64: Buffer.from(rej.data).toString("base64") } : { data: text }),
    };
    nc.publish(dlqSubject, JSON.stringify(record), { headers: h });
  } catch (err) {
    log.error(`nats: dead-letter publish failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function decodeUtf8(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
}
