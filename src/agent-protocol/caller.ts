import { createHash } from "node:crypto";
import type { MsgHdrs } from "@nats-io/transport-node";

/** What the request says about its sender (spec §13.1), once classified. */
export type Sender =
  | { kind: "absent" }
  /** An `Agent-Sender` header without a (valid) signature: display only, never grants anything. */
  | { kind: "claimed"; user: string; name?: string }
  /** A signature by `user`'s seed over this very request. */
  | { kind: "verified"; account: string; user: string; name?: string };

/** Who is prompting, as far as this gateway can tell. */
export interface Caller {
  /** The id `relay.allowedTargets` and the logs know the caller by. */
  id: string;
  /** The token of the caller's own session key (`agent:<id>:nats:<key>`): lowercase, no `:`. */
  key: string;
  verified: boolean;
}

/** Caller id of every unsigned request: NATS does not say who published, so they share one id for allowedTargets. */
export const UNSIGNED_CALLER = "nats:unsigned";

/**
 * The part of a reply subject that belongs to one client connection. Clients multiplex requests over
 * one inbox subscription per connection, `<prefix>.<random per-connection token>.<per-request token>`
 * (nats.js, Go, the C client's request API); that is what stays the same across one caller's requests.
 * Any other shape (a bare `_INBOX.<nuid>`, a hand-made reply subject) is taken whole.
 */
export function inboxOwner(reply: string): string {
  const tokens = reply.split(".");
  if (tokens.length >= 3 && /^[A-Za-z0-9]{16,}$/.test(tokens[tokens.length - 2])) return tokens.slice(0, -1).join(".");
  return reply;
}

/**
 * Verified senders are their user NKEY (§13.7.2: the verified identity is `user`, never `account`);
 * their session key follows them across connections and gateways. Unsigned callers are told apart by the
 * inbox their replies go to: stable while the caller keeps its connection, random across connections,
 * and a party that shares the inbox already receives every reply in it, so sharing its session exposes
 * nothing more. It separates honest callers; against a hostile one on the same account it is no
 * authentication (that is what §13 signing and NATS permissions are for). The inbox is hashed: the host
 * lowercases session keys and an inbox is mixed-case.
 */
export function callerOf(sender: Sender, reply: string): Caller {
  if (sender.kind === "verified") return { id: sender.user, key: sender.user.toLowerCase(), verified: true };
  const digest = createHash("sha256").update(inboxOwner(reply)).digest("hex").slice(0, 32);
  return { id: UNSIGNED_CALLER, key: `inbox-${digest}`, verified: false };
}

/** How a caller appears in log lines. */
export function describeCaller(caller: Caller, sender: Sender): string {
  if (sender.kind === "verified") return `${sender.name ? `${sender.name} ` : ""}${sender.user} (verified)`;
  if (sender.kind === "claimed") return `${caller.key} claiming ${sender.name ?? sender.user} (unverified)`;
  return caller.key;
}

/** The outcome of looking at a request's `Agent-Sender` header (§13.7). */
export type SenderAdmission = { ok: true; sender: Sender } | { ok: false; code: 400 | 401 | 403; error: string };

export interface SenderRequest {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
}

/** Classifies (and, where configured, verifies and admits) the sender of a request. */
export interface SenderGate {
  /** What `min_sender_trust` the prompt endpoint advertises; undefined: the §13 extension is not offered. */
  readonly minSenderTrust?: "any" | "signed";
  /** A prompt: may refuse (400 malformed, 401 bad or missing signature, 403 refused sender). */
  admit(req: SenderRequest): SenderAdmission;
  /** A status probe: classified for the log, never refused (§13.9). */
  classify(req: SenderRequest): string;
}

/** Without the §13 extension the header is ignored and every sender is absent (§13.13). */
export const NO_SENDER_IDENTITY: SenderGate = { admit: () => ({ ok: true, sender: { kind: "absent" } }), classify: () => "absent" };
