import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { mayTakeTurn, type Caller, type CallerVia, type TurnDecision } from "./caller.ts";
import { TrustedCallers, type CallerResult } from "./callers.ts";
import { loadIdentity, type GatewayIdentity } from "./identity.ts";
import { NonceCache } from "./nonce-cache.ts";
import { AGENT_SENDER_HEADER } from "./sender-header.ts";
import { signSender, verifySender, type SenderCheck, type VerifiableMessage } from "./sender.ts";

export interface TrustStatus {
  /** This gateway's public key (U…): what peers list in relay.callers. */
  publicKey: string | undefined;
  identity: string;
  trustedKeys: number;
  trustUnsignedCallers: boolean;
  /** Signed messages accepted / refused at the sender check since start. */
  verified: number;
  rejected: number;
}

/**
 * Trust on the bus, once per gateway process: this gateway's signing identity, the nonce set, the
 * trusted callers and the turn policy. Everything that asks "who is this, and may they have a turn"
 * (the wake dispatcher, the relay, the agent-protocol endpoint) goes through one instance.
 */
/** Why a message or caller was refused, as a fixed set (a metrics label; the reason text stays free-form). */
export const TRUST_REFUSALS = ["malformed", "stale", "subject_mismatch", "replay", "bad_signature", "unauthenticated", "untrusted_key", "target_not_allowed"] as const;
export type TrustRefusal = (typeof TRUST_REFUSALS)[number];

/** The kind of a rejected Agent-Sender check, from the fixed reasons verifySender writes (sender.ts). */
export function senderRefusal(check: Extract<SenderCheck, { trust: "rejected" }>): TrustRefusal {
  if (check.code === 400) return "malformed";
  if (/ s from now \(replay window/.test(check.reason)) return "stale";
  if (check.reason.includes("(replay)")) return "replay";
  if (check.reason.includes("is not the arrival subject")) return "subject_mismatch";
  return "bad_signature";
}

export class Trust {
  readonly callers: TrustedCallers;
  private readonly cfg: Pick<NatsPluginConfig, "relay" | "trust">;
  private readonly stateDir: string;
  private readonly log: Logger;
  private readonly nonces: NonceCache;
  private loaded: GatewayIdentity | undefined;
  private loadError: string | undefined;
  private readonly counts = { verified: 0, rejected: 0 };
  /** Refused signatures (verify) and refused turns (mayTakeTurn), by kind. */
  readonly refusals: Record<TrustRefusal, number> = Object.fromEntries(TRUST_REFUSALS.map((k) => [k, 0])) as Record<TrustRefusal, number>;

  /** `nonceCapacity` exists for tests: a flood past the cache's size costs ~0.4 ms of Ed25519 per message. */
  constructor(cfg: Pick<NatsPluginConfig, "relay" | "trust">, stateDir: string, log: Logger, opts: { nonceCapacity?: number } = {}) {
    this.cfg = cfg;
    this.stateDir = stateDir;
    this.log = log;
    this.nonces = new NonceCache(cfg.trust.replayWindowMs, opts.nonceCapacity);
    this.load();
    this.callers = new TrustedCallers(cfg.relay.callers, this.loaded?.signer.publicKey);
  }

  /** The identity, read (or created) at construction. A failure is logged once; the gateway then signs nothing. */
  private load(): void {
    try {
      this.loaded = loadIdentity({ seedFile: this.cfg.trust.seedFile, stateDir: this.stateDir });
      const how = this.loaded.source === "generated" ? "generated" : "loaded";
      this.log.info(`nats: identity ${this.loaded.signer.publicKey} (${how}, ${this.loaded.path}): the nats tool signs as this key`);
      if (this.loaded.permissionWarning) this.log.warn(`nats: ${this.loaded.permissionWarning}`);
    } catch (err) {
      this.loadError = errorMessage(err);
      this.log.error(`nats: no signing identity: ${this.loadError}; agent requests from the nats tool will be refused as unauthenticated`);
    }
  }

  get identity(): GatewayIdentity | undefined {
    return this.loaded;
  }

  /** Headers carrying a signed Agent-Sender for one publish of `payload` on `subject`, or undefined without an identity. */
  signedHeaders(subject: string, payload: Uint8Array, name?: string, into: MsgHdrs = natsHeaders()): MsgHdrs | undefined {
    if (!this.loaded) return undefined;
    into.set(AGENT_SENDER_HEADER, signSender({ signer: this.loaded.signer, account: this.cfg.trust.account, subject, payload, ...(name ? { name } : {}) }));
    return into;
  }

  /** §13.7 classification of one message (live: served now; stored: a JetStream record delivered later). */
  verify(msg: VerifiableMessage, mode: "live" | "stored" = "live"): SenderCheck {
    // Only trusted keys (relay.callers and this gateway's own) spend the bounded nonce set.
    const recordsNonce = (user: string): boolean => this.callers.byKey(user) !== undefined;
    const check = verifySender(msg, { mode, nonces: this.nonces, recordsNonce, replayWindowMs: this.cfg.trust.replayWindowMs });
    if (check.trust === "verified") this.counts.verified++;
    if (check.trust === "rejected") {
      this.counts.rejected++;
      this.refusals[senderRefusal(check)]++;
    }
    return check;
  }

  identify(check: Exclude<SenderCheck, { trust: "rejected" }>, claimed: string | undefined, via: CallerVia): CallerResult {
    return this.callers.identify(check, claimed, via);
  }

  /** Authentication (unless relay.trustUnsignedCallers) and relay.allowedTargets, in one decision. */
  mayTakeTurn(caller: Caller, sessionKey: string): TurnDecision {
    const d = mayTakeTurn(caller, sessionKey, { allowedTargets: this.cfg.relay.allowedTargets, trustUnsignedCallers: this.cfg.relay.trustUnsignedCallers });
    if (!d.ok) this.refusals[caller.auth === "none" && !this.cfg.relay.trustUnsignedCallers ? (caller.key ? "untrusted_key" : "unauthenticated") : "target_not_allowed"]++;
    return d;
  }

  status(): TrustStatus {
    return {
      publicKey: this.loaded?.signer.publicKey,
      identity: this.loaded ? `${this.loaded.source}: ${this.loaded.path}` : `none (${this.loadError ?? "not loaded"})`,
      trustedKeys: this.callers.size,
      trustUnsignedCallers: this.cfg.relay.trustUnsignedCallers,
      ...this.counts,
    };
  }
}
