import { DiscardPolicy, RetentionPolicy, StorageType, jetstreamManager, type StreamConfig } from "@nats-io/jetstream";
import { headers, nanos, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { replyProblem } from "../shared/reply-safety.ts";
import { addReplicated, replicationFields, updateReplication } from "../connection/replication.ts";
import { answerHeaders } from "../trace/nats.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { jsDomain } from "../connection/domain.ts";

export interface Rejection {
  subject: string;
  data: Uint8Array;
  reply?: string;
  reason: string;
  /** The rejected message's headers: its error reply and dead-letter copy continue its trace. */
  headers?: MsgHdrs;
}

/** Replies the gateway refused to send (a `$…` system or protocol reply subject), process-wide. */
export const refusedReplies = { count: 0 };

/** Dead letters published, and those that could not be (not connected, publish error), process-wide (metrics). */
export const deadLetters = { published: 0, failed: 0 };

/**
 * Whether the gateway may answer on `reply`. A reply subject is whatever the sender wrote and the
 * gateway publishes with its own permissions: `$KV.<bucket>.<key>` would write a KV entry, `$JS.API.…`
 * would call JetStream. Such replies are refused (one log line, counted), like the agent protocol does.
 */
export function safeReply(reply: string | undefined, subject: string, log: Logger): reply is string {
  if (!reply) return false;
  const problem = replyProblem(reply);
  if (!problem) return true;
  refusedReplies.count++;
  log.warn(`nats: not replying to a message on ${subject}: its reply subject ${reply.slice(0, 120)} is ${problem}`);
  return false;
}

/**
 * A rejected inbound message is never silent: one warning line, an error reply to the sender when it
 * asked for one, and a copy on the dead-letter subject with the reason attached (kept by the bounded
 * dead-letter stream, see ensureDeadLetterStream).
 */
export function deadLetter(nc: NatsConnection | undefined, dlqSubject: string, rej: Rejection, log: Logger, extra: Record<string, unknown> = {}): void {
  log.warn(`nats: rejected message on ${rej.subject}: ${rej.reason}`);
  if (!nc || nc.isClosed()) {
    log.error(`nats: could not dead-letter message from ${rej.subject} (not connected)`);
    deadLetters.failed++;
    return;
  }
  try {
    if (safeReply(rej.reply, rej.subject, log)) nc.publish(rej.reply, JSON.stringify({ ok: false, error: rej.reason }), { headers: answerHeaders(rej.headers) });
    const { headers: h, payload } = deadLetterRecord(rej, extra);
    nc.publish(dlqSubject, payload, { headers: h });
    deadLetters.published++;
  } catch (err) {
    deadLetters.failed++;
    log.error(`nats: dead-letter publish failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The dead-letter copy: the reason and original subject as headers, and a JSON record with the data. */
export function deadLetterRecord(rej: Rejection, extra: Record<string, unknown> = {}): { headers: MsgHdrs; payload: string } {
  const h = answerHeaders(rej.headers, headers());
  h.set("Openclaw-Dlq-Reason", rej.reason.slice(0, 1024).replace(/[\r\n]+/g, " "));
  h.set("Openclaw-Dlq-Subject", rej.subject);
  const text = decodeUtf8(rej.data);
  const record = {
    reason: rej.reason,
    subject: rej.subject,
    receivedAt: new Date().toISOString(),
    ...extra,
    ...(text === undefined ? { dataBase64: Buffer.from(rej.data).toString("base64") } : { data: text }),
  };
  return { headers: h, payload: JSON.stringify(record) };
}

/** The bounded stream that keeps dead-letter copies while nobody is subscribed (oldest dropped first). */
export function deadLetterStreamConfig(cfg: Pick<NatsPluginConfig, "deadLetterSubject" | "deadLetterStream">): Partial<StreamConfig> & { name: string } {
  const d = cfg.deadLetterStream;
  return {
    name: d.name,
    subjects: [cfg.deadLetterSubject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(d.maxAgeHours * 3_600_000),
    max_msgs: d.maxMessages,
    max_bytes: d.maxBytes,
    ...replicationFields(d),
  };
}

/**
 * Create (or bring to the config) the dead-letter stream. Without JetStream, or when the stream cannot
 * be made, one log line says that dead letters are only seen by live subscribers.
 */
export async function ensureDeadLetterStream(nc: NatsConnection, cfg: Pick<NatsPluginConfig, "deadLetterSubject" | "deadLetterStream">, log: Logger): Promise<boolean> {
  if (!cfg.deadLetterStream.enabled) return false;
  const want = deadLetterStreamConfig(cfg);
  try {
    const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: 5000 });
    try {
      const info = await jsm.streams.info(want.name);
      let c = info.config;
      if (!(c.subjects ?? []).includes(cfg.deadLetterSubject) || c.max_msgs !== want.max_msgs || c.max_bytes !== want.max_bytes || c.max_age !== want.max_age) {
        c = (await jsm.streams.update(want.name, { subjects: [...new Set([...(c.subjects ?? []), cfg.deadLetterSubject])], max_msgs: want.max_msgs, max_bytes: want.max_bytes, max_age: want.max_age })).config;
        log.info(`nats: dead-letter stream ${want.name} updated to the config`);
      }
      await updateReplication(jsm, c, cfg.deadLetterStream, log, "nats: dead-letter");
    } catch (err) {
      if (!/stream not found/i.test(errorMessage(err))) throw err;
      const replicas = await addReplicated(jsm, want, log, "nats: dead-letter");
      if (replicas === (want.num_replicas ?? 1)) log.info(`nats: created dead-letter stream ${want.name} on ${cfg.deadLetterSubject} (R${replicas}, at most ${want.max_msgs} messages, ${want.max_bytes} bytes, ${cfg.deadLetterStream.maxAgeHours} h)`);
    }
    return true;
  } catch (err) {
    log.warn(`nats: dead-letter stream ${want.name} unavailable (${errorMessage(err)}): dead letters on ${cfg.deadLetterSubject} reach live subscribers only`);
    return false;
  }
}

function decodeUtf8(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return undefined;
  }
}
