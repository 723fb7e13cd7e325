import type { Logger } from "../shared/logger.ts";
import { agentOf, runTurn, type SessionInfo, type SessionRoute, type TurnRuntime } from "./run-turn.ts";
import { checkTarget, type AllowedTargets } from "./targets.ts";

/** Who is asking: the tool's agent, the HTTP `from` (or "http"), the NATS `from`. */
export interface Caller {
  id: string;
  via: "tool" | "http" | "nats";
  /** The caller's own session (tool calls): notifying it would wait on itself. */
  sessionKey?: string;
  /** No `[from …]` line on the message (HTTP without `from`). */
  anonymous?: boolean;
}

/** invalid → 400, forbidden → 403, not-found → 404 (the request was refused); failed/timeout: the turn went wrong. */
export type RelayFailureKind = "invalid" | "forbidden" | "not-found" | "failed" | "timeout";
export type RelayFailure = { ok: false; kind: RelayFailureKind; error: string };

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
  allowedTargets?: AllowedTargets;
  timeoutMs: number;
}

/** What the target agent reads: the message, signed with the caller unless anonymous. */
export function relayText(caller: Caller, message: string): string {
  return caller.anonymous ? message : `[from ${caller.id}] ${message}`;
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
  return kind === "invalid" || kind === "forbidden" || kind === "not-found";
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

  constructor(settings: RelaySettings, rt: TurnRuntime, log: Logger) {
    this.settings = settings;
    this.rt = rt;
    this.log = log;
  }

  async notify(caller: Caller, req: NotifyRequest): Promise<NotifyResult> {
    const refused = this.refuse(caller, req.sessionKey);
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
    const outcome = await runTurn(this.rt, { sessionKey: req.sessionKey, message: text, deliver: true, timeoutMs });
    const who = `${caller.via} ${caller.id} → ${req.sessionKey}`;
    switch (outcome.kind) {
      case "not-started": {
        const queued = this.rt.queueSystemEvent(req.sessionKey, agentOf(req.sessionKey), text);
        this.log.warn(`nats: relay ${who}: no turn could be started (${outcome.error}); queued as a system event instead (queued=${queued})`);
        return { ok: true, method: "system-event", sessionKey: req.sessionKey, queued, reason: outcome.error };
      }
      case "failed":
        return this.fail(caller, req.sessionKey, "failed", `run ${outcome.runId} failed: ${outcome.error}`);
      case "running":
        this.log.info(`nats: relay ${who}: run ${outcome.runId} still running after ${timeoutMs} ms`);
        return { ok: true, method: "agent-run", status: "running", runId: outcome.runId, sessionKey: outcome.sessionKey, ...info.route };
      case "finished": {
        const delivered = outcome.delivery === "sent";
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
    const refused = this.refuse(caller, req.sessionKey);
    if (refused) return refused;
    const agentId = agentOf(req.sessionKey);
    const timeoutMs = req.timeoutMs ?? this.settings.timeoutMs;
    const outcome = await runTurn(this.rt, { sessionKey: req.sessionKey, message: relayText(caller, req.message), deliver: req.deliver ?? false, timeoutMs });
    switch (outcome.kind) {
      case "not-started":
        return this.fail(caller, req.sessionKey, "failed", `could not start a turn in ${req.sessionKey}: ${outcome.error}`);
      case "failed":
        return this.fail(caller, req.sessionKey, "failed", `${agentId} could not answer: run ${outcome.runId} failed: ${outcome.error}`);
      case "running":
        return this.fail(caller, req.sessionKey, "timeout", `${agentId} did not answer within ${timeoutMs} ms (run ${outcome.runId} is still going; its answer will stay in ${outcome.sessionKey})`);
      case "finished":
        this.log.info(`nats: relay ${caller.via} ${caller.id} asked ${req.sessionKey}: answered by run ${outcome.runId}`);
        return { ok: true, from: agentId, body: outcome.answer ?? "", sessionKey: outcome.sessionKey, runId: outcome.runId };
    }
  }

  private refuse(caller: Caller, sessionKey: string): RelayFailure | undefined {
    const decision = checkTarget(this.settings.allowedTargets, caller.id, sessionKey);
    return decision.ok ? undefined : this.fail(caller, sessionKey, "forbidden", decision.reason);
  }

  private fail(caller: Caller, sessionKey: string, kind: RelayFailureKind, error: string): RelayFailure {
    if (!isRefusal(kind)) this.log.warn(`nats: relay ${caller.via} ${caller.id} → ${sessionKey}: ${kind}: ${error}`);
    return { ok: false, kind, error };
  }
}
