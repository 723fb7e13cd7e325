/**
 * The `Agent-Sender` header of the Synadia Agent Protocol (core-protocol.md §13.5, sender identity):
 *
 *   Agent-Sender: {"v":1,"account":"…","user":"U…","name":"…","sub":"…","ts":"…","nonce":"…","sig":"…"}
 *
 * Serialised canonically (field order v, account, user, name?, sub?, ts?, nonce?, sig?; compact JSON),
 * parsed strictly: anything §13.5.1 calls malformed is a MalformedSender (→ 400); an unknown `v`
 * makes the header count as absent.
 */
import { isSenderAccount, isUserPublicKey } from "../shared/nkey-shape.ts";

export const AGENT_SENDER_HEADER = "Agent-Sender";
export const SIGNED_INPUT_TAG = "AGENT-SENDER-V1";
/** Cap on the raw header value before JSON parsing (a signed header is ~300–400 bytes). */
export const MAX_HEADER_VALUE_BYTES = 2048;
export const MAX_NAME_LENGTH = 64;

export interface AgentSenderHeader {
  v: 1;
  account: string;
  user: string;
  name?: string;
  sub?: string;
  ts?: string;
  nonce?: string;
  sig?: string;
}

export class MalformedSender extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedSender";
  }
}

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT = /^[^\s.\x00-\x1f\x7f]+(\.[^\s.\x00-\x1f\x7f]+)*$/;
/** 64 signature bytes are 86 base64url characters without padding. */
const SIG = /^[A-Za-z0-9_-]{86}$/;

/** Display names: ≤ 64 UTF-16 units, no C0/C1/DEL/U+2028/U+2029, no lone surrogates. */
export function isSenderName(name: string): boolean {
  if (name.length > MAX_NAME_LENGTH) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

export function isSenderSubject(subject: string): boolean {
  return SUBJECT.test(subject);
}

/** Canonical single-line JSON in the fixed field order, absent fields omitted. */
export function serializeSenderHeader(h: AgentSenderHeader): string {
  const o: Record<string, unknown> = { v: 1, account: h.account, user: h.user };
  if (h.name !== undefined) o.name = h.name;
  if (h.sub !== undefined) o.sub = h.sub;
  if (h.ts !== undefined) o.ts = h.ts;
  if (h.nonce !== undefined) o.nonce = h.nonce;
  if (h.sig !== undefined) o.sig = h.sig;
  return JSON.stringify(o);
}

/**
 * Parse one header value. `null`: a well-formed header with an unknown `v` (treated as absent).
 * Throws MalformedSender naming the problem (never echoing the value).
 */
export function parseSenderHeader(value: string): AgentSenderHeader | null {
  if (Buffer.byteLength(value, "utf8") > MAX_HEADER_VALUE_BYTES) throw new MalformedSender(`value is over ${MAX_HEADER_VALUE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new MalformedSender("not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new MalformedSender("not a JSON object");
  const o = parsed as Record<string, unknown>;
  if (typeof o.v !== "number") throw new MalformedSender("`v` must be a JSON number");
  if (o.v !== 1) return null;
  const { account, user } = o;
  if (typeof account !== "string" || typeof user !== "string") throw new MalformedSender("`account` and `user` must be strings");
  if (!isSenderAccount(account)) throw new MalformedSender("`account` is not an account NKEY, an account name or $G");
  if (!isUserPublicKey(user)) throw new MalformedSender("`user` is not a user NKEY (U…)");
  const out: AgentSenderHeader = { v: 1, account, user };
  if (o.name !== undefined) {
    if (typeof o.name !== "string" || !isSenderName(o.name)) throw new MalformedSender("`name` is not a valid display name");
    out.name = o.name;
  }
  if (o.sub !== undefined) {
    if (typeof o.sub !== "string" || !isSenderSubject(o.sub)) throw new MalformedSender("`sub` is not a NATS subject");
    out.sub = o.sub;
  }
  if (o.ts !== undefined) {
    if (typeof o.ts !== "string" || !TS.test(o.ts) || Number.isNaN(Date.parse(o.ts))) throw new MalformedSender("`ts` is not an RFC 3339 UTC timestamp");
    out.ts = o.ts;
  }
  if (o.nonce !== undefined) {
    if (typeof o.nonce !== "string" || !NONCE.test(o.nonce)) throw new MalformedSender("`nonce` must match [A-Za-z0-9_-]{1,64}");
    out.nonce = o.nonce;
  }
  if (o.sig !== undefined) {
    if (typeof o.sig !== "string" || !SIG.test(o.sig) || Buffer.from(o.sig, "base64url").toString("base64url") !== o.sig) {
      throw new MalformedSender("`sig` is not 64 bytes of unpadded base64url");
    }
    if (out.sub === undefined || out.ts === undefined || out.nonce === undefined) throw new MalformedSender("`sig` requires `sub`, `ts` and `nonce`");
    out.sig = o.sig;
  }
  return out;
}

/** `YYYY-MM-DDTHH:MM:SSZ`: second precision, as the spec asks signers to emit. */
export function senderTimestamp(ms: number = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The bytes that are signed (never sent): `AGENT-SENDER-V1\n{account}\n{user}\n{subject}\n{ts}\n{nonce}\n{sha256(payload) hex}\n`. */
export function signedInput(f: { account: string; user: string; subject: string; ts: string; nonce: string; payloadSha256Hex: string }): Uint8Array {
  return new TextEncoder().encode(`${SIGNED_INPUT_TAG}\n${f.account}\n${f.user}\n${f.subject}\n${f.ts}\n${f.nonce}\n${f.payloadSha256Hex}\n`);
}
