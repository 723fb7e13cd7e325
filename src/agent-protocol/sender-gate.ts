import { NonceCache } from "../trust/nonce-cache.ts";
import { DEFAULT_REPLAY_WINDOW_MS, verifySender } from "../trust/sender.ts";
import type { SenderAdmission, SenderGate, SenderRequest } from "./caller.ts";

/**
 * §13 on the receiving side, with the trust module's verifier: a malformed `Agent-Sender` is 400 and a
 * signature that fails (other payload or subject, stale `ts`, replayed nonce, wrong key) is 401 whatever
 * `minSenderTrust` says; with `signed`, a request that is not verified is 401 too. The nonce set is this
 * gateway's (§13.7: instances behind one queue group do not share it; the ts window bounds the rest).
 */
export function senderGate(minSenderTrust: "any" | "signed"): SenderGate {
  const nonces = new NonceCache(DEFAULT_REPLAY_WINDOW_MS);
  const verify = (req: SenderRequest) => verifySender(req, { mode: "live", nonces });
  return {
    minSenderTrust,
    admit(req): SenderAdmission {
      const c = verify(req);
      if (c.trust === "rejected") return { ok: false, code: c.code, error: c.reason };
      if (c.trust === "verified") return { ok: true, sender: { kind: "verified", account: c.account, user: c.user, ...(c.name !== undefined ? { name: c.name } : {}) } };
      if (minSenderTrust === "signed") {
        const why = c.trust === "claimed" ? "its Agent-Sender header is not signed" : "it has no Agent-Sender header";
        return { ok: false, code: 401, error: `this agent only serves signed requests (min_sender_trust signed); ${why}` };
      }
      if (c.trust === "claimed") return { ok: true, sender: { kind: "claimed", user: c.user, ...(c.name !== undefined ? { name: c.name } : {}) } };
      return { ok: true, sender: { kind: "absent" } };
    },
    classify(req): string {
      const c = verify(req);
      if (c.trust === "rejected") return `rejected (${c.code}: ${c.reason})`;
      return c.trust === "absent" ? "absent" : `${c.trust} ${c.user}`;
    },
  };
}
