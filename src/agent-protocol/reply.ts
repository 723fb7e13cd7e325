import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { setTraceHeaders, traceHeaders, type Trace } from "../trace/context.ts";
import { errorMessage } from "../shared/logger.ts";
import { ACK_CHUNK, EMPTY, errorFrame, responseChunks, type ErrorCode } from "./chunks.ts";

/**
 * One response stream to a caller's reply subject (§6): chunks in order, keep-alive acks while it is
 * quiet, and exactly one terminator, after which nothing more is published. Publishing never throws: a
 * caller that went away (or a connection that closed) just means the chunks go nowhere (§6.7).
 */
export class ReplyStream {
  private readonly nc: NatsConnection;
  readonly subject: string;
  private ended = false;
  private keepAliveMs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Chunks published (terminator excluded) and response bytes, for the log line. */
  chunks = 0;
  responseBytes = 0;
  firstResponseAt: number | undefined;
  publishError: string | undefined;

  /** The prompt's trace (src/trace): every chunk but the header-less terminator carries it. */
  private readonly trace: Trace | undefined;

  constructor(nc: NatsConnection, subject: string, trace?: Trace) {
    this.nc = nc;
    this.subject = subject;
    this.trace = trace;
    // nats-server counts headers within max_payload: a traced chunk leaves room for its header block.
    // "NATS/1.0\r\n" + "name: value\r\n" per header + "\r\n"
    this.headerRoom = trace ? 12 + Object.entries(traceHeaders(trace)).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 4, 0) : 0;
  }

  private readonly headerRoom: number;

  get isEnded(): boolean {
    return this.ended;
  }

  /** The status `ack` chunk (§6.4); with `keepAliveMs`, repeated whenever the stream was quiet that long. */
  ack(keepAliveMs = 0): void {
    this.publish(ACK_CHUNK);
    this.keepAliveMs = keepAliveMs;
    this.arm();
  }

  /** `text` as one or more `response` chunks, each within the server's max_payload. */
  response(text: string): void {
    if (this.ended || text.length === 0) return;
    const max = (this.nc.info?.max_payload ?? 1024 * 1024) - this.headerRoom;
    for (const chunk of responseChunks(text, max)) {
      this.firstResponseAt ??= performance.now();
      this.responseBytes += chunk.length;
      this.publish(chunk);
    }
  }

  /** An error frame (§9.1); the terminator still has to follow (`end`). */
  error(code: ErrorCode, message: string, extra?: Record<string, unknown>): void {
    const frame = errorFrame(code, message, extra);
    this.publish(frame.data, frame);
  }

  /** The zero-byte, header-less terminator (§6.5). Idempotent. */
  end(): void {
    if (this.ended) return;
    this.publish(EMPTY);
    this.ended = true;
    this.disarm();
  }

  private publish(data: Uint8Array, opts?: { headers: MsgHdrs }): void {
    if (this.ended) return;
    if (data.length > 0) this.chunks++;
    try {
      // §6.5: the terminator is a zero-byte message without headers, so it carries no trace either.
      let headers = opts?.headers;
      if (this.trace && data.length > 0) setTraceHeaders((headers ??= natsHeaders()), this.trace);
      this.nc.publish(this.subject, data, headers ? { headers } : undefined);
    } catch (err) {
      this.publishError ??= errorMessage(err);
    }
    this.arm();
  }

  private arm(): void {
    this.disarm();
    if (this.ended || this.keepAliveMs <= 0) return;
    this.timer = setTimeout(() => this.publish(ACK_CHUNK), this.keepAliveMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
