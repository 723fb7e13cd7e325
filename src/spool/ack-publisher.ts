import { setEnvelopeTraceHeaders } from "../trace/nats.ts";
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

export type AckResult = { ok: true; duplicate: boolean } | { ok: false; error: string; permanent: boolean };

interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

/** JetStream: "message size exceeds maximum allowed" (the stream's max_msg_size). */
const MESSAGE_TOO_LARGE = 10054;

/**
 * Publishes to JetStream the way the Go client's PublishAsync does: a plain PUB with a
 * Nats-Msg-Id header and a reply subject on one inbox subscription, whose PubAcks come back to
 * a callback. Compared with `js.publish()` this skips a promise, a timer and two Error objects
 * (with stack traces) per message, which were half of the client's CPU per event; timeouts are the
 * caller's job. `token` identifies the message in the callback.
 */
export class AckPublisher {
  private readonly onResult: (token: string, result: AckResult) => void;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private prefix = "";

  constructor(onResult: (token: string, result: AckResult) => void) {
    this.onResult = onResult;
  }

  /** Sends one message; throws what nc.publish throws (closed connection, over max_payload). */
  publish(nc: NatsConnection, subject: string, data: string, msgId: string, token: string): void {
    if (nc !== this.nc || !this.sub || this.sub.isClosed()) this.attach(nc);
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    setEnvelopeTraceHeaders(h, data); // an event of a traced turn carries its traceparent as a header too
    nc.publish(subject, data, { headers: h, reply: this.prefix + token });
  }

  close(): void {
    if (this.sub && !this.sub.isClosed() && this.nc && !this.nc.isClosed()) this.sub.unsubscribe();
    this.sub = undefined;
    this.nc = undefined;
  }

  private attach(nc: NatsConnection): void {
    this.close();
    const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.nc = nc;
    this.sub = nc.subscribe(`${this.prefix}>`, {
      callback: (err, msg) => {
        if (!err) this.onResult(msg.subject.slice(this.prefix.length), parseAck(msg));
      },
    });
  }
}

export function parseAck(msg: Msg): AckResult {
  const h = msg.headers;
  if (h?.hasError) {
    const why = h.code === 503 ? "no stream takes this subject (503 no responders)" : `${h.code} ${h.description}`;
    return { ok: false, error: why, permanent: false };
  }
  let body: PubAckBody;
  try {
    body = msg.json<PubAckBody>();
  } catch {
    return { ok: false, error: "unreadable publish ack", permanent: false };
  }
  if (body.error) {
    const e = body.error;
    return { ok: false, error: `${e.description ?? "error"} (${e.code ?? "?"}/${e.err_code ?? "?"})`, permanent: e.err_code === MESSAGE_TOO_LARGE };
  }
  if (typeof body.seq !== "number" || !body.stream) return { ok: false, error: "invalid publish ack", permanent: false };
  return { ok: true, duplicate: body.duplicate === true };
}
