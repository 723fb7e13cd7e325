import type { Logger } from "../shared/logger.ts";
import type { Caller, TurnDecision } from "../trust/caller.ts";
import { frameName } from "../wake/route.ts";
import { holdUntilDone, TurnSlots } from "./limits.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";
import { runTurn, type SessionInfo, type SessionRoute, type TurnOutcome, type TurnRequest, type TurnRuntime } from "./run-turn.ts";

export type { Caller };

/**
 * invalid → 400, unauthorized → 401, forbidden → 403, not-found → 404, busy → 429 (the request was
 * refused, nothing ran); failed / timeout: the turn went wrong.
 */
export type RelayFailureKind = "invalid" | "unauthorized" | "forbidden" | "not-found" | "busy" | "failed" | "timeout";
export type RelayFailure = { ok: false; kind: RelayFailureKind; error: string };

/** How a relay request ended, as a fixed set (a metrics label): the failure kinds and the four ways it succeeds. */
export const RELAY_OUTCOMES = ["delivered", "not_delivered", "answered", "running", "system_event", "invalid", "unauthorized", "forbidden", "not_found", "busy", "failed", "timeout"] as const;
export type RelayOutcome = (typeof RELAY_OUTCOMES)[number];

export type NotifyResult =
  | {
      ok: true;
      method: "agent-run";
      /** delivered: the reply reached the session's channel; not-delivered: the turn ran but had no channel to go to; running: still going after timeoutMs. */
      status: "delivered" | "not-delivered" | "running";
      runId: string;
      sessionKey: string;
      channel?: string;
      to?: string;
      reply?: string;
    }
  | { ok: true; method: "system-event"; sessionKey: string; queued: boolean; reason: string }
  | RelayFailure;

export type AskResult = { ok: true; from: string; body: string; sessionKey: string; runId: string } | RelayFailure;

export interface NotifyRequest {
  sessionKey: string;
  message: string;
  channel?: string;
  to?: string;
  timeoutMs?: number;
}

export interface AskRequest {
  sessionKey: string;
  message: string;
  /** Also deliver the answer to the session's channel. */
  deliver?: boolean;
  timeoutMs?: number;
}

export interface RelaySettings {
  /** The one trust decision (src/trust): authenticated unless relay.trustUnsignedCallers, and relay.allowedTargets. */
  mayTakeTurn: (caller: Caller, sessionKey: string) => TurnDecision;
  timeoutMs: number;
  maxTimeoutMs: number;
  maxConcurrent: number;
  maxConcurrentPerSession: number;
}

/** What the target agent reads: the message, framed with the caller unless anonymous. The name is data, never framing. */
export function relayText(caller: Caller, message: string): string {
  return caller.anonymous ? message : `[from ${frameName(caller.id)}] ${message}`;
}

function describeRoute(route: SessionRoute | undefined): string {
  if (!route) return "none (webchat only)";
  return route.to ? `${route.channel}:${route.to}` : route.channel;
}

/**
 * channel/to overrides: the in-process runtime (api.runtime.subagent.run) always delivers to the session's
 * last route and takes no channel/to, so only values equal to that route are accepted.
 */
export function checkOverride(route: SessionRoute | undefined, channel: string | undefined, to: string | undefined): string | undefined {
  if (channel === undefined && to === undefined) return undefined;
  const same = route !== undefined && (channel === undefined || channel === route.channel) && (to === undefined || to === route.to);
  if (same) return undefined;
  return `channel/to overrides are not supported: the relay runs the turn in-process and the reply always goes to the session's last route (${describeRoute(route)}); omit channel/to`;
}

/** Refusals: the request was not acted on. The entry point logs them (HTTP status line, tool, NATS dead letter). */
export function isRefusal(kind: RelayFailureKind): boolean {
  return kind !== "failed" && kind !== "timeout";
}

/**
 * The relay: run an agent turn in a target session with delivery on (notify), or run one and hand its
 * answer back (ask). Checks relay.allowedTargets first. Returns values, never throws. It logs what
 * happened to turns (delivered, fallback, failed, timed out); refusals are logged once by the entry point.
 */
export class Relay {
  private readonly settings: RelaySettings;
  private readonly rt: TurnRuntime;
  private readonly log: Logger;
  private readonly slots: TurnSlots;
  /** Requests (notify and request/reply) by how they ended (metrics). */
  readonly outcomes: Record<RelayOutcome, number> = Object.fromEntries(RELAY_OUTCOMES.map((k) => [k, 0])) as Record<RelayOutcome, number>;

  constructor(settings: RelaySettings, rt: TurnRuntime, log: Logger) {
    this.settings = settings;
    this.rt = rt;
    this.log = log;
    this.slots = new TurnSlots(settings.maxConcurrent, settings.maxConcurrentPerSession);
  }

  /** Turns running now (whole gateway). */
  get running(): number {
    return this.slots.active;
  }

  async notify(caller: Caller, req: NotifyRequest): Promise<NotifyResult> {
    const refused = this.refuse(caller, req.sessionKey, req.timeoutMs);
    if (refused) return refused;
    if (caller.sessionKey === req.sessionKey) {
      return this.fail(caller, req.sessionKey, "invalid", "cannot notify the session this turn is running in (it would wait on itself)");
    }
    let info: SessionInfo | undefined;
    try {
      info = this.rt.lookup(req.sessionKey);
    } catch (err) {
      return this.fail(caller, req.sessionKey, "failed", `session lookup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!info) return this.fail(caller, req.sessionKey, "not-found", `no session ${req.sessionKey}`);
    const override = checkOverride(info.route, req.channel, req.to);
    if (override) return this.fail(caller, req.sessionKey, "invalid", override);

    const text = relayText(caller, req.message);
    const timeoutMs = req.timeoutMs ?? this.settings.timeoutMs;
    const outcome = await this.runInSlot({ sessionKey: req.sessionKey, message: text, deliver: true, timeoutMs });
    if (outcome.kind === "busy") return this.fail(caller, req.sessionKey, "busy", outcome.reason);
    const who = `${caller.via} ${caller.id} → ${req.sessionKey}`;
    switch (outcome.kind) {
      case "not-started": {
        const queued = this.rt.queueSystemEvent(req.sessionKey, agentOfSessionKey(req.sessionKey) ?? "", text);
        this.log.warn(`nats: relay ${who}: no turn could be started (${outcome.error}); queued as a system event instead (queued=${queued})`);
        this.outcomes.system_event++;
        return { ok: true, method: "system-event", sessionKey: req.sessionKey, queued, reason: outcome.error };
      }
      case "failed":
        return this.fail(caller, req.sessionKey, "failed", `run ${outcome.runId} failed: ${outcome.error}`);
      case "running":
        this.log.info(`nats: relay ${who}: run ${outcome.runId} still running after ${timeoutMs} ms`);
        this.outcomes.running++;
        return { ok: true, method: "agent-run", status: "running", runId: outcome.runId, sessionKey: outcome.sessionKey, ...info.route };
      case "finished": {
        const delivered = outcome.delivery === "sent";
        this.outcomes[delivered ? "delivered" : "not_delivered"]++;
        this.log.info(`nats: relay ${who}: run ${outcome.runId} ${delivered ? `delivered to ${describeRoute(info.route)}` : `finished, reply not delivered (delivery ${outcome.delivery ?? "none"})`}`);
        return {
          ok: true,
          method: "agent-run",
          status: delivered ? "delivered" : "not-delivered",
          runId: outcome.runId,
          sessionKey: outcome.sessionKey,
          ...(delivered ? info.route : {}),
          ...(outcome.answer !== undefined ? { reply: outcome.answer } : {}),
        };
      }
    }
  }

  async ask(caller: Caller, req: AskRequest): Promise<AskResult> {
    const refused = this.refuse(caller, req.sessionKey, req.timeoutMs);
    if (refused) return refused;
    const agentId = agentOfSessionKey(req.sessionKey) ?? "";
    const timeoutMs = req.timeoutMs ?? this.settings.timeoutMs;
    const outcome = await this.runInSlot({ sessionKey: req.sessionKey, message: relayText(caller, req.message), deliver: req.deliver ?? false, timeoutMs });
    if (outcome.kind === "busy") return this.fail(caller, req.sessionKey, "busy", outcome.reason);
    switch (outcome.kind) {
      case "not-started":
        return this.fail(caller, req.sessionKey, "failed", `could not start a turn in ${req.sessionKey}: ${outcome.error}`);
      case "failed":
        return this.fail(caller, req.sessionKey, "failed", `${agentId} could not answer: run ${outcome.runId} failed: ${outcome.error}`);
      case "running":
        return this.fail(caller, req.sessionKey, "timeout", `${agentId} did not answer within ${timeoutMs} ms (run ${outcome.runId} is still going; its answer will stay in ${outcome.sessionKey})`);
      case "finished":
        this.log.info(`nats: relay ${caller.via} ${caller.id} asked ${req.sessionKey}: answered by run ${outcome.runId}`);
        this.outcomes.answered++;
        return { ok: true, from: agentId, body: outcome.answer ?? "", sessionKey: outcome.sessionKey, runId: outcome.runId };
    }
  }

  /**
   * One turn inside the concurrency limits. The slot is held until the run ends, not just until the
   * caller stops waiting: a run that outlasts timeoutMs keeps its slot (bounded by relay.maxTimeoutMs),
   * so short timeouts cannot pile up runs past the limit.
   */
  private async runInSlot(req: TurnRequest): Promise<TurnOutcome | { kind: "busy"; reason: string }> {
    const slot = this.slots.take(req.sessionKey);
    if (!slot.ok) return { kind: "busy", reason: slot.reason };
    let outcome: TurnOutcome;
    try {
      outcome = await runTurn(this.rt, req);
    } catch (err) {
      slot.release();
      throw err;
    }
    if (outcome.kind !== "running") slot.release();
    else void holdUntilDone((id, ms) => this.rt.wait(id, ms), outcome.runId, this.settings.maxTimeoutMs, slot.release);
    return outcome;
  }

  /** Trust first (who may have a turn here), then the caller's timeout against the cap. Slots are taken last, just before the turn. */
  private refuse(caller: Caller, sessionKey: string, timeoutMs: number | undefined): RelayFailure | undefined {
    const decision = this.settings.mayTakeTurn(caller, sessionKey);
    if (!decision.ok) return this.fail(caller, sessionKey, decision.code === 401 ? "unauthorized" : "forbidden", decision.reason);
    if (timeoutMs !== undefined && timeoutMs > this.settings.maxTimeoutMs) {
      return this.fail(caller, sessionKey, "invalid", `timeoutMs ${timeoutMs} is over relay.maxTimeoutMs (${this.settings.maxTimeoutMs})`);
    }
    return undefined;
  }

  private fail(caller: Caller, sessionKey: string, kind: RelayFailureKind, error: string): RelayFailure {
    this.outcomes[kind === "not-found" ? "not_found" : kind]++;
    if (!isRefusal(kind)) this.log.warn(`nats: relay ${caller.via} ${caller.id} → ${sessionKey}: ${kind}: ${error}`);
    return { ok: false, kind, error };
  }
}
