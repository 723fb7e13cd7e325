import { headers, type MsgHdrs } from "@nats-io/transport-node";

/** Codes of the spec's §9.2 taxonomy this implementation answers with. */
export type ErrorCode = 400 | 401 | 403 | 404 | 409 | 429 | 500;

/** Stable machine-readable names for the optional JSON error body (§9.1). */
const ERROR_NAMES: Record<ErrorCode, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  429: "rate_limited",
  500: "internal_error",
};

export const ERROR_CODE_HEADER = "Nats-Service-Error-Code";
export const ERROR_HEADER = "Nats-Service-Error";

const encoder = new TextEncoder();
export const EMPTY = new Uint8Array(0);
export const ACK_CHUNK = encoder.encode(JSON.stringify({ type: "status", data: "ack" }));

export function responseChunk(text: string): Uint8Array {
  return encoder.encode(JSON.stringify({ type: "response", data: text }));
}

/** NATS header values are one line; the description is for people, so keep it short (§9.1). */
export function headerText(text: string, max = 200): string {
  const flat = text.replace(/[\r\n]+/g, " ").replace(/[^\x20-\x7e]/g, "?").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * One error frame (§9.1): the two headers plus a JSON body. The body is not optional here: a caller
 * that ends a stream at the first empty payload (nats.js `requestMany` with the `sentinel` strategy does)
 * would otherwise take the error frame for the terminator and never see the code.
 */
export function errorFrame(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): { data: Uint8Array; headers: MsgHdrs } {
  const h = headers();
  h.set(ERROR_CODE_HEADER, String(code));
  h.set(ERROR_HEADER, headerText(message));
  return { data: encoder.encode(JSON.stringify({ error: ERROR_NAMES[code], message, ...extra })), headers: h };
}

const RESPONSE_OVERHEAD = responseChunk("").length;

/** Bytes `cp` (one code point) takes inside a JSON string. */
function escapedBytes(cp: string): number {
  const code = cp.codePointAt(0) ?? 0;
  if (code === 0x22 || code === 0x5c) return 2;
  if (code < 0x20) return cp === "\n" || cp === "\r" || cp === "\t" || cp === "\b" || cp === "\f" ? 2 : 6;
  if (code >= 0xd800 && code <= 0xdfff) return 6; // a lone surrogate: JSON.stringify writes \udxxx
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code < 0x10000) return 3;
  return 4;
}

/**
 * `text` as `response` chunks that each fit `maxBytes` on the wire, split between code points and
 * measured after JSON escaping (so a quote-heavy text is still in bounds). Empty text → no chunks.
 */
export function responseChunks(text: string, maxBytes: number): Uint8Array[] {
  if (text.length === 0) return [];
  const whole = responseChunk(text);
  if (whole.length <= maxBytes) return [whole];
  const budget = maxBytes - RESPONSE_OVERHEAD;
  if (budget < 6) throw new Error(`max payload ${maxBytes} is too small for a response chunk`);
  const out: Uint8Array[] = [];
  let part = "";
  let used = 0;
  for (const cp of text) {
    const n = escapedBytes(cp);
    if (used + n > budget) {
      out.push(responseChunk(part));
      part = "";
      used = 0;
    }
    part += cp;
    used += n;
  }
  if (part.length > 0) out.push(responseChunk(part));
  return out;
}

/** `max_payload` metadata (§2.1): a positive integer with B, KB, MB or GB (binary multiples, like nats-server). */
export function formatBytes(n: number): string {
  for (const [unit, size] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}B`;
}

export function parseBytes(text: string): number | undefined {
  const m = /^([1-9][0-9]*)(B|KB|MB|GB)$/.exec(text);
  if (!m) return undefined;
  const mult = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as "B" | "KB" | "MB" | "GB"];
  return Number(m[1]) * mult;
}
