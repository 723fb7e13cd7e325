import { createHash } from "node:crypto";
import { nuid, type MsgHdrs } from "@nats-io/transport-node";
import type { NonceCache } from "./nonce-cache.ts";
import { verifySignature, type SenderSigner } from "./nkey.ts";
import { AGENT_SENDER_HEADER, MalformedSender, parseSenderHeader, senderTimestamp, serializeSenderHeader, signedInput, type AgentSenderHeader } from "./sender-header.ts";

export const DEFAULT_REPLAY_WINDOW_MS = 30_000;

/**
 * How a message's sender was classified (§13.1 trust classes, plus the two rejections of §13.7):
 * - absent: no header (or an unknown `v`): the message has no sender;
 * - claimed: a header without `sig`: display only, nothing is granted on it;
 * - verified: `sig` checks out against `user` for this subject, payload, time and nonce;
 * - rejected: 400 malformed header, 401 a signature that fails (tampering or replay, never a weaker claim).
 */
export type SenderCheck =
  | { trust: "absent" }
  | { trust: "claimed"; account: string; user: string; name?: string }
  | { trust: "verified"; account: string; user: string; name?: string }
  | { trust: "rejected"; code: 400 | 401; reason: string };

export interface SignSenderOptions {
  signer: SenderSigner;
  /** The account label the header carries (§13.3: account NKEY, config account name, or `$G`). Nothing is granted on it. */
  account: string;
  /** The subject the message is published to. */
  subject: string;
  /** The exact payload bytes that will be published. */
  payload: Uint8Array;
  /** Display name (unsigned by design, §13.5). */
  name?: string;
  ts?: string;
  nonce?: string;
}

function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A signed `Agent-Sender` header value for one publish. Fresh `ts` (second precision) and NUID nonce unless given. */
export function signSender(opts: SignSenderOptions): string {
  const ts = opts.ts ?? senderTimestamp();
  const nonce = opts.nonce ?? nuid.next();
  const user = opts.signer.publicKey;
  const input = signedInput({ account: opts.account, user, subject: opts.subject, ts, nonce, payloadSha256Hex: sha256Hex(opts.payload) });
  const sig = Buffer.from(opts.signer.sign(input)).toString("base64url");
  const header: AgentSenderHeader = { v: 1, account: opts.account, user, ...(opts.name !== undefined ? { name: opts.name } : {}), sub: opts.subject, ts, nonce, sig };
  return serializeSenderHeader(header);
}

export interface VerifySenderOptions {
  /** live: a message served now (ts window + nonce set); stored: a JetStream record replayed later (authorship only, §13.8). */
  mode: "live" | "stored";
  /** Required in live mode; the pair is recorded once the signature verified. */
  nonces?: NonceCache;
  /**
   * Which verified keys the nonce set is spent on (default: every key). The set is bounded, so a
   * stranger flooding signed messages with a throwaway key would otherwise evict trusted pairs and
   * reopen their replay; an untrusted key is granted nothing, so its replay needs no refusing.
   */
  recordsNonce?: (user: string) => boolean;
  replayWindowMs?: number;
  now?: number;
}

export interface VerifiableMessage {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
}

/**
 * §13.7 for one message: classify its `Agent-Sender` header. Cheap checks first (ts window, `sub` equal to
 * the arrival subject, nonce), then Ed25519. Never throws. `sub` is compared for equality with the
 * arrival subject only (§13.7.1 (a)); account-token exports and receiver-side renames are not used here.
 */
export function verifySender(msg: VerifiableMessage, opts: VerifySenderOptions): SenderCheck {
  const values = msg.headers?.values(AGENT_SENDER_HEADER) ?? [];
  if (values.length === 0) return { trust: "absent" };
  if (values.length > 1) return { trust: "rejected", code: 400, reason: "malformed Agent-Sender header: more than one value" };
  let header: AgentSenderHeader | null;
  try {
    header = parseSenderHeader(values[0] as string);
  } catch (err) {
    if (err instanceof MalformedSender) return { trust: "rejected", code: 400, reason: `malformed Agent-Sender header: ${err.message}` };
    throw err;
  }
  if (header === null) return { trust: "absent" };
  const named = header.name !== undefined ? { name: header.name } : {};
  if (header.sig === undefined || header.sub === undefined || header.ts === undefined || header.nonce === undefined) {
    return { trust: "claimed", account: header.account, user: header.user, ...named };
  }
  const bad = (why: string): SenderCheck => ({ trust: "rejected", code: 401, reason: `Agent-Sender signature rejected: ${why}` });
  const now = opts.now ?? Date.now();
  const window = opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  if (opts.mode === "live") {
    const skew = Math.abs(now - Date.parse(header.ts));
    if (skew > window) return bad(`ts ${header.ts} is ${Math.round(skew / 1000)} s from now (replay window ${window / 1000} s)`);
  }
  if (header.sub !== msg.subject) return bad(`signed subject ${JSON.stringify(header.sub)} is not the arrival subject ${JSON.stringify(msg.subject)}`);
  if (opts.mode === "live" && opts.nonces?.has(header.user, header.nonce, now)) return bad(`nonce already seen for ${header.user} (replay)`);
  const input = signedInput({ account: header.account, user: header.user, subject: header.sub, ts: header.ts, nonce: header.nonce, payloadSha256Hex: sha256Hex(msg.data) });
  if (!verifySignature(header.user, input, Buffer.from(header.sig, "base64url"))) return bad(`signature does not verify for ${header.user}`);
  const records = opts.mode === "live" && opts.nonces !== undefined && (opts.recordsNonce?.(header.user) ?? true);
  if (records && !opts.nonces!.add(header.user, header.nonce, now)) return bad(`nonce already seen for ${header.user} (replay)`);
  return { trust: "verified", account: header.account, user: header.user, ...named };
}
