import { checkTarget, type AllowedTargets } from "./targets.ts";

/** The way a request came in. */
export type CallerVia = "tool" | "http" | "nats" | "agent-protocol";

/**
 * How the caller's id was established:
 * - in-process: the host says which agent is calling (notify_agent, the nats tool in this gateway);
 * - token: an HTTP bearer token from relay.authToken / relay.tokens (the id is the token's owner);
 * - signature: an Agent-Sender header signed by a key in relay.callers (or this gateway's own key);
 * - none: nobody vouched for it; the id is whatever the message claimed (`from`).
 */
export type Authentication = "in-process" | "token" | "signature" | "none";

/** Who is asking for a turn. `id` is what relay.allowedTargets is checked against. */
export interface Caller {
  id: string;
  via: CallerVia;
  auth: Authentication;
  /** The verified user NKEY when the message was signed (also for a key nobody configured). */
  key?: string;
  /** For a key that speaks for agents (a gateway): the relay.callers entry that vouched. */
  vouchedBy?: string;
  /** The caller's own session (tool calls): notifying it would wait on itself. */
  sessionKey?: string;
  /** No `[from …]` line on the message (HTTP without `from`). */
  anonymous?: boolean;
}

export interface TurnPolicy {
  allowedTargets?: AllowedTargets;
  /** relay.trustUnsignedCallers: let unauthenticated callers have turns (as before this setting existed). */
  trustUnsignedCallers: boolean;
}

export type TurnDecision = { ok: true } | { ok: false; code: 401 | 403; reason: string };

/**
 * The one decision "may this caller get a turn (an answer or a delivery) in this session": it must be
 * authenticated, unless relay.trustUnsignedCallers is on, and relay.allowedTargets must let it reach the
 * session. 401: nothing was authenticated; 403: the caller is known (or its key verified) but not allowed.
 */
export function mayTakeTurn(caller: Caller, sessionKey: string, policy: TurnPolicy): TurnDecision {
  if (caller.auth === "none" && !policy.trustUnsignedCallers) {
    if (caller.key) {
      return {
        ok: false,
        code: 403,
        reason: `sender key ${caller.key} is not a trusted caller: list it in relay.callers, or set relay.trustUnsignedCallers: true to let unauthenticated callers have turns`,
      };
    }
    return {
      ok: false,
      code: 401,
      reason: `caller "${caller.id}" is not authenticated: a turn that answers (expectReply) or delivers (deliver) needs an Agent-Sender header signed by a key in relay.callers, or relay.trustUnsignedCallers: true`,
    };
  }
  const target = checkTarget(policy.allowedTargets, caller.id, sessionKey);
  return target.ok ? { ok: true } : { ok: false, code: 403, reason: target.reason };
}
