import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { errorMessage } from "../shared/logger.ts";
import { jsDomain } from "../connection/domain.ts";

/** Small read-only JetStream adapters for the dashboard; each answers with what it found or an error string. */

export interface StreamFacts {
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  firstTs: string | undefined;
  lastTs: string | undefined;
  consumers: number;
}

export interface ConsumerFacts {
  pending: number;
  ackPending: number;
  redelivered: number;
  waiting: number;
  delivered: number;
}

export interface DlqEntry {
  at: string | undefined;
  subject: string | undefined;
  reason: string;
  data: string;
}

const TIMEOUT_MS = 2000;
const ZERO_TS = "0001-01-01T00:00:00Z";

async function manager(nc: NatsConnection): Promise<JetStreamManager> {
  return jetstreamManager(nc, { ...jsDomain(nc), timeout: TIMEOUT_MS });
}

export async function streamFacts(nc: NatsConnection, stream: string): Promise<StreamFacts | { error: string }> {
  try {
    const { state } = await (await manager(nc)).streams.info(stream);
    return {
      messages: state.messages,
      bytes: state.bytes,
      firstSeq: state.first_seq,
      lastSeq: state.last_seq,
      firstTs: state.messages > 0 && state.first_ts !== ZERO_TS ? state.first_ts : undefined,
      lastTs: state.last_ts !== ZERO_TS ? state.last_ts : undefined,
      consumers: state.consumer_count,
    };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

export async function consumerFacts(nc: NatsConnection, stream: string, consumer: string): Promise<ConsumerFacts | { error: string }> {
  try {
    const info = await (await manager(nc)).consumers.info(stream, consumer);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered, waiting: info.num_waiting, delivered: info.delivered.stream_seq };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

const MAX_DATA_CHARS = 2000;

/** A dead letter as the wake path writes it: `{reason, subject, receivedAt, data | dataBase64}`. */
export function parseDeadLetter(text: string, headerReason?: string): DlqEntry {
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
    const data = str(r.data) ?? (str(r.dataBase64) ? `(binary, base64) ${str(r.dataBase64)}` : text);
    return { at: str(r.receivedAt), subject: str(r.subject), reason: str(r.reason) ?? headerReason ?? "(no reason)", data: data.slice(0, MAX_DATA_CHARS) };
  } catch {
    return { at: undefined, subject: undefined, reason: headerReason ?? "(not JSON)", data: text.slice(0, MAX_DATA_CHARS) };
  }
}

/**
 * The last `limit` dead letters from a JetStream stream that captures the DLQ subject, newest first,
 * or undefined when no stream captures it (then the dashboard shows what it saw live).
 */
export async function dlqFromStream(nc: NatsConnection, subject: string, limit: number): Promise<{ stream: string; entries: DlqEntry[] } | undefined> {
  const jsm = await manager(nc);
  let stream: string;
  try {
    stream = await jsm.streams.find(subject);
  } catch {
    return undefined;
  }
  const { state } = await jsm.streams.info(stream);
  const entries: DlqEntry[] = [];
  for (let seq = state.last_seq; seq >= state.first_seq && seq > 0 && entries.length < limit; seq--) {
    try {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (!m || m.subject !== subject) continue;
      entries.push(parseDeadLetter(m.string(), m.header?.get("Openclaw-Dlq-Reason") || undefined));
    } catch {
      // deleted or purged sequence
    }
    if (state.last_seq - seq > limit * 20) break; // a stream mostly of other subjects: don't walk it all
  }
  return { stream, entries };
}
