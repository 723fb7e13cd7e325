import { createHash } from "node:crypto";
import type { Caller } from "../trust/caller.ts";
import type { SenderCheck } from "../trust/sender.ts";
import type { Trust } from "../trust/trust.ts";

/** What the prompt endpoint asks of the gateway's trust: verify a sender, name the caller, decide on a turn. */
export type ProtocolTrust = Pick<Trust, "verify" | "identify" | "mayTakeTurn">;

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
 * The token of the caller's own session key, `agent:<id>:nats:<key>` (lowercase, no `:`; the host
 * lowercases session keys).
 *
 * A verified signature is an identity that cannot collide: the key is the user NKEY (§13.7.2: the
 * verified identity is `user`, never `account`), plus the agent it speaks for when the key is a
 * gateway's (two agents behind one gateway key are two callers). The session follows the caller across
 * connections and gateways.
 *
 * Without one, callers are told apart by the inbox their replies go to: stable while the caller keeps
 * its connection, random across connections, and a party that shares the inbox already receives every
 * reply sent to it, so sharing its session exposes nothing more. That separates honest callers; it is
 * no authentication (that is what signing and relay.callers are for). Hashed: inboxes are mixed-case.
 */
export function callerKey(check: Exclude<SenderCheck, { trust: "rejected" }>, caller: Caller, reply: string): string {
  if (check.trust === "verified") return caller.vouchedBy ? `${check.user.toLowerCase()}-${caller.id}` : check.user.toLowerCase();
  return `inbox-${createHash("sha256").update(inboxOwner(reply)).digest("hex").slice(0, 32)}`;
}

/** How a caller appears in log lines: its id, how that was established, and its session token. */
export function describeCaller(caller: Caller, key: string): string {
  const how = caller.auth === "signature" ? `signed by ${caller.key}${caller.vouchedBy ? ` for ${caller.vouchedBy}` : ""}` : caller.key ? `unknown key ${caller.key}` : "unauthenticated";
  return `"${caller.id}" (${how}, ${key})`;
}
