import { isAgentId } from "../shared/session-key.ts";
import type { Caller, CallerVia } from "./caller.ts";
import type { SenderCheck } from "./sender.ts";

/**
 * One `relay.callers.<id>` entry: a user NKEY, and optionally the agents it may speak for. Without
 * `agents` the key is one caller, `<id>`. With `agents` the key belongs to a gateway: it signs for the
 * agents it hosts, and the caller is the agent named in the signed payload's `from` (so the name is
 * covered by the signature; the header's `name` is not, §13.5).
 */
export interface CallerEntry {
  publicKey: string;
  agents?: string[];
}

export type CallerResult = { ok: true; caller: Caller } | { ok: false; code: 403; reason: string };

/** The id used in messages for this gateway's own key, which speaks for every agent. */
export const OWN_KEY_ID = "this gateway";

interface KeyEntry {
  id: string;
  agents?: string[];
}

/**
 * The configured trusted callers as a lookup by verified key. This gateway's own public key is trusted
 * for every agent name: the `nats` tool signs with it, so agent → agent requests work out of the box, and
 * two gateways that share a seed file (trust.seedFile) trust each other's agents.
 */
export class TrustedCallers {
  private readonly keys = new Map<string, KeyEntry>();
  readonly ownKey: string | undefined;

  constructor(entries: Record<string, CallerEntry> = {}, ownKey?: string) {
    for (const [id, e] of Object.entries(entries)) this.keys.set(e.publicKey, { id, ...(e.agents ? { agents: e.agents } : {}) });
    this.ownKey = ownKey;
    if (ownKey && !this.keys.has(ownKey)) this.keys.set(ownKey, { id: OWN_KEY_ID, agents: ["*"] });
  }

  /** The entry a verified key belongs to, if any. */
  byKey(publicKey: string): KeyEntry | undefined {
    return this.keys.get(publicKey);
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * Who is calling, given the message's sender classification and the name it claims (`from`):
   * - verified by a configured caller key → that caller (a `from` naming someone else is refused);
   * - verified by a key that speaks for agents → the agent in `from`, if the key may speak for it;
   * - verified by an unknown key, claimed, or absent → `from` as given, unauthenticated.
   * The caller of a rejected header is never asked for: rejected messages stop before this.
   */
  identify(check: Exclude<SenderCheck, { trust: "rejected" }>, claimed: string | undefined, via: CallerVia): CallerResult {
    if (check.trust !== "verified") return { ok: true, caller: { id: claimed ?? "anonymous", via, auth: "none" } };
    const entry = this.keys.get(check.user);
    if (!entry) return { ok: true, caller: { id: claimed ?? check.user, via, auth: "none", key: check.user } };
    if (entry.agents) {
      if (claimed === undefined || !isAgentId(claimed)) {
        return { ok: false, code: 403, reason: `key of ${describe(entry.id)} speaks for agents only, and "${claimed ?? ""}" is not an agent id` };
      }
      if (!entry.agents.includes("*") && !entry.agents.includes(claimed)) {
        return { ok: false, code: 403, reason: `key of ${describe(entry.id)} may not speak for agent "${claimed}" (relay.callers.${entry.id}.agents)` };
      }
      return { ok: true, caller: { id: claimed, via, auth: "signature", key: check.user, vouchedBy: entry.id } };
    }
    if (claimed !== undefined && claimed !== entry.id) {
      return { ok: false, code: 403, reason: `from "${claimed}" does not match the signing caller "${entry.id}" (relay.callers)` };
    }
    return { ok: true, caller: { id: entry.id, via, auth: "signature", key: check.user } };
  }
}

function describe(id: string): string {
  return id === OWN_KEY_ID ? id : `caller "${id}"`;
}
