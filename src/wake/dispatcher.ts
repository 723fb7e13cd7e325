import type { MsgHdrs } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { SenderCheck, VerifiableMessage } from "../trust/sender.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { injectWake, type SystemRuntime } from "./inject.ts";
import { parseWakeMessage, type WakeMessage } from "./message.ts";
import { checkSubjectBinding, formatWakeText, resolveTarget, type WakeTarget } from "./route.ts";
import { Reservoir } from "../shared/reservoir.ts";
import { DeliveryRefused, SessionDelivery } from "./session-delivery.ts";
import { NewSessionGate } from "./new-sessions.ts";
import { processTraces, inboundTrace } from "../trace/sessions.ts";
import { headerGetter } from "../trace/nats.ts";
import { hopLimitReason, processHops, readHops, type HopContext } from "./hops.ts";

/** What the sender gets back on its reply subject. */
export type Receipt = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** `durable`: the host committed it to the session store (survives a gateway crash); see HandedOffJournal. */
export type DispatchOutcome = { kind: "rejected"; reason: string } | { kind: "handled"; receipt: Receipt; durable?: boolean };

/** A sender that passed the Agent-Sender check (absent, claimed or verified). */
export type AcceptedSender = Exclude<SenderCheck, { trust: "rejected" }>;

/** Handles `deliver: true` / `expectReply: true` messages (the relay); absent until the relay is wired. A refusal is dead-lettered like any rejection. */
export type RelayHandler = (message: WakeMessage, target: WakeTarget, sender: AcceptedSender) => Promise<DispatchOutcome>;

/** Classifies a message's Agent-Sender header (src/trust); absent until the runtime wires it. */
export type SenderVerifier = (msg: VerifiableMessage, mode: "live" | "stored") => SenderCheck;

/** Where a message came from: its headers, and whether it was stored (durable inbox) rather than live. */
export interface DispatchMeta {
  headers?: MsgHdrs;
  stored?: boolean;
  /** Overrides the routed target (a broadcast names each hosted agent's main session). */
  target?: WakeTarget;
  /** The message already parsed by the caller (hosting check, broadcast check): not parsed again. */
  parsed?: ParsedWake;
}

export type ParsedWake = { ok: true; message: WakeMessage; target: WakeTarget } | { ok: false; reason: string };

/** Told about each message handed to an agent as a system event (the event store records it as `wake.in`). */
export type InjectedListener = (e: { message: WakeMessage; target: WakeTarget; priority: string; subject: string; queued: boolean }) => void;

/** How the message reached the host: durably in the session store, as a new session's first turn, or in memory. */
export type HandedVia = "injection" | "turn" | "system-event";

/** One handled message, kept for the dashboard's "last wakes". */
export interface RecentWake {
  at: number;
  subject: string;
  outcome: "injected" | "relayed" | "rejected";
  from?: string;
  sessionKey?: string;
  priority?: string;
  queued?: boolean;
  reason?: string;
}

const RECENT_WAKES = 50;

/** Why the dispatcher refused a message, as a fixed set (metrics label; the reason text stays free-form). */
export const REJECT_KINDS = ["invalid", "signature", "hops_header", "hop_limit", "relay_unavailable", "relay_refused", "new_session_limit", "handoff_refused"] as const;
export type RejectKind = (typeof REJECT_KINDS)[number];

/** Validate, route and inject one inbound message. Shared by the core subscription and the durable inbox. */
export class WakeDispatcher {
  private readonly cfg: NatsPluginConfig;
  private readonly system: SystemRuntime;
  private readonly log: Logger;
  relay: RelayHandler | undefined;
  onInjected: InjectedListener | undefined;
  verifySender: SenderVerifier | undefined;
  readonly counts = { received: 0, injected: 0, rejected: 0, relayed: 0, hopLimited: 0 };
  /** `counts.rejected` by kind. */
  readonly rejectedBy: Record<RejectKind, number> = Object.fromEntries(REJECT_KINDS.map((k) => [k, 0])) as Record<RejectKind, number>;
  /** The durable hand-off (next-turn injections + wake turns); without a host (unit tests) the system-event path is used. */
  readonly handoff: SessionDelivery;
  /** Hops of what each session is acting on; the nats tool sends one more. */
  readonly hops: HopContext = processHops();
  /** Time from message arrival to event enqueued + wake requested, last 1024 system-event wakes. */
  readonly injectMicros = new Reservoir(1024);
  /** The part of injectMicros spent inside the host's enqueueSystemEvent + requestHeartbeat. */
  readonly hostMicros = new Reservoir(1024);
  /** The last 50 messages handled, newest first. */
  readonly recent: RecentWake[] = [];

  constructor(cfg: NatsPluginConfig, system: SystemRuntime, log: Logger) {
    this.cfg = cfg;
    this.system = system;
    this.log = log;
    this.handoff = new SessionDelivery({ urgentTurnsPerMinute: cfg.wake.urgentTurnsPerMinute, turnTimeoutMs: cfg.wake.turnTimeoutMs, maxQueuedPerSession: cfg.wake.maxQueuedPerSession }, log);
    this.newSessions = new NewSessionGate({ perSender: cfg.wake.newSessionsPerSenderPerMinute, total: cfg.wake.newSessionsPerMinute });
  }

  /** Caps sessions opened on a sender's say-so (the host keeps state for each). */
  private readonly newSessions: NewSessionGate;

  parse(data: Uint8Array, subject: string): ParsedWake {
    const parsed = parseWakeMessage(data, this.cfg.maxBodyBytes);
    if (!parsed.ok) return parsed;
    const unbound = checkSubjectBinding(parsed.message, subject);
    if (unbound) return { ok: false, reason: unbound };
    return { ok: true, message: parsed.message, target: resolveTarget(parsed.message, this.cfg.defaultAgent, subject) };
  }

  async dispatch(data: Uint8Array, subject: string, arrivedAt: number = performance.now(), meta: DispatchMeta = {}): Promise<DispatchOutcome> {
    this.counts.received++;
    const parsed = meta.parsed ?? this.parse(data, subject);
    if (!parsed.ok) return this.reject("invalid", parsed.reason, subject);
    const { message } = parsed;
    const target = meta.target ?? parsed.target;
    const seen = { at: Date.now(), subject, from: message.from, sessionKey: target.sessionKey };
    // A failing signature is tampering or replay: refused even for a plain wake (agent protocol §13.7).
    const sender = this.verifySender?.({ subject, data, headers: meta.headers }, meta.stored ? "stored" : "live") ?? { trust: "absent" };
    if (sender.trust === "rejected") return this.reject("signature", sender.reason, subject, seen);
    const hops = readHops(meta.headers);
    if (!hops.ok) return this.reject("hops_header", hops.reason, subject, seen);
    if (hops.hops > this.cfg.wake.maxHops) {
      this.counts.hopLimited++;
      return this.reject("hop_limit", hopLimitReason(hops.hops, this.cfg.wake.maxHops), subject, seen);
    }
    this.hops.set(target.sessionKey, hops.hops);
    // The turn this message starts (a wake, or a relay's run) records its events under the sender's trace.
    processTraces().set(target.sessionKey, inboundTrace(headerGetter(meta.headers), subject, this.log));
    if (message.deliver || message.expectReply) {
      if (!this.relay) return this.reject("relay_unavailable", "deliver/expectReply need the relay, which is not running", subject, seen);
      const outcome = await this.relay(message, target, sender);
      if (outcome.kind === "rejected") return this.reject("relay_refused", outcome.reason, subject, seen);
      this.counts.relayed++;
      this.remember({ ...seen, outcome: "relayed" });
      return outcome;
    }
    const priority = message.priority ?? "normal";
    if (this.handoff.available && !this.handoff.hasSession(target)) {
      const refused = this.newSessions.admit(sender.trust === "verified" ? `key:${sender.user}` : `from:${message.from}`, target.sessionKey);
      if (refused) return this.reject("new_session_limit", refused, subject, seen);
    }
    const hostStart = performance.now();
    let result: { queued: boolean; via: HandedVia };
    try {
      result = await this.inject(target, priority, message.from, message.body);
    } catch (err) {
      if (err instanceof DeliveryRefused) return this.reject("handoff_refused", err.message, subject, seen);
      throw err;
    }
    this.hostMicros.add((performance.now() - hostStart) * 1000);
    this.counts.injected++;
    this.injectMicros.add((performance.now() - arrivedAt) * 1000);
    try {
      this.onInjected?.({ message, target, priority, subject, queued: result.queued });
    } catch (err) {
      this.log.warn(`nats: recording the wake from ${message.from} failed: ${errorMessage(err)}`);
    }
    this.remember({ ...seen, outcome: "injected", priority, queued: result.queued });
    this.log.debug?.(`nats: ${priority} wake from ${message.from} → ${target.sessionKey} (via ${result.via})`);
    return { kind: "handled", receipt: { ok: true, sessionKey: target.sessionKey, priority, queued: result.queued }, durable: result.via === "injection" };
  }

  /**
   * Resolves only once the host holds the message: with a host, committed to the session store (or the
   * first turn of a new session started); a failure throws, so the durable inbox naks and redelivers.
   */
  private async inject(target: WakeTarget, priority: WakeMessage["priority"] & string, from: string, body: string): Promise<{ queued: boolean; via: HandedVia }> {
    if (!this.handoff.available) {
      const r = injectWake(this.system, target, priority, from, body);
      return { queued: r.queued, via: "system-event" };
    }
    const r = await this.handoff.deliver(target, formatWakeText(priority, from, body), priority === "urgent");
    return { queued: true, via: r.via };
  }

  private reject(kind: RejectKind, reason: string, subject: string, seen?: Omit<RecentWake, "outcome">): DispatchOutcome {
    this.counts.rejected++;
    this.rejectedBy[kind]++;
    this.remember({ at: Date.now(), subject, ...seen, outcome: "rejected", reason });
    return { kind: "rejected", reason };
  }

  private remember(wake: RecentWake): void {
    this.recent.unshift(wake);
    if (this.recent.length > RECENT_WAKES) this.recent.pop();
  }
}
