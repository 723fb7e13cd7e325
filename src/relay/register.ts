import { AsyncLocalStorage } from "node:async_hooks";
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { Logger } from "../shared/logger.ts";
import { AUTH_FAILURE_LOG_INTERVAL_MS, RateLimitedLog } from "../shared/rate-limited-log.ts";
import type { Trust } from "../trust/trust.ts";
import type { WakeDispatcher } from "../wake/dispatcher.ts";
import { hostTurnRuntime, type Detached } from "./host-runtime.ts";
import { createNotifyHandler, type TokenOwner } from "./http-route.ts";
import { natsRelayHandler } from "./nats-relay.ts";
import { notifyTool } from "./notify-tool.ts";
import { Relay, type NotifyResult } from "./relay.ts";
import { processTraces } from "../trace/sessions.ts";
import { HopContext, hopLimitReason, processHops } from "../wake/hops.ts";

type RelayApi = Pick<OpenClawPluginApi, "registerTool" | "registerHttpRoute" | "runtime">;

/** relay.authToken (caller "http") and relay.tokens.<caller>, as token owners. */
export function tokenOwners(relay: NatsPluginConfig["relay"]): TokenOwner[] {
  const out: TokenOwner[] = relay.authToken ? [{ caller: "http", token: relay.authToken }] : [];
  for (const [caller, token] of Object.entries(relay.tokens ?? {})) out.push({ caller, token });
  return out;
}

/** POST <relay.path> on the gateway's own HTTP server, only with relay.authToken or relay.tokens set; says which in the log. */
export function registerRelayHttp(api: Pick<OpenClawPluginApi, "registerHttpRoute">, cfg: NatsPluginConfig, relay: Pick<Relay, "notify">, log: Logger, notice: (message: string) => void = log.info): boolean {
  const { path } = cfg.relay;
  const tokens = tokenOwners(cfg.relay);
  if (tokens.length === 0) {
    notice(`nats: relay HTTP endpoint off: set relay.authToken or relay.tokens (16+ characters) to enable POST ${path}`);
    return false;
  }
  const authFailures = new RateLimitedLog(log, "nats: relay http authentication failures", { intervalMs: AUTH_FAILURE_LOG_INTERVAL_MS });
  const handler = createNotifyHandler({ tokens, maxBodyBytes: cfg.maxBodyBytes, authFailures }, (caller, req) => relay.notify(caller, req), log);
  api.registerHttpRoute({ path, auth: "plugin", match: "exact", handler });
  notice(`nats: relay HTTP endpoint POST ${path} on the gateway port (Bearer token; callers: ${tokens.map((t) => t.caller).join(", ")})`);
  return true;
}

type NotifyFn = (caller: Parameters<Relay["notify"]>[0], req: Parameters<Relay["notify"]>[1]) => Promise<NotifyResult>;

/** notify_agent is an in-process agent → agent hop: the target session acts on hop n + 1 of the calling session's chain; past maxHops it is refused. */
export function hopGuardedNotify(notify: NotifyFn, hops: HopContext, maxHops: number) {
  return async (caller: Parameters<NotifyFn>[0], req: Parameters<NotifyFn>[1], fromSession: string | undefined): Promise<NotifyResult> => {
    const hop = hops.get(fromSession) + 1;
    if (hop > maxHops) return { ok: false, kind: "forbidden", error: `refused: ${hopLimitReason(hop, maxHops)}` };
    hops.set(req.sessionKey, hop);
    processTraces().set(req.sessionKey, processTraces().outgoing(fromSession)); // the target's run continues the caller's trace
    return notify(caller, req);
  };
}

/**
 * The relay: the notify_agent tool, POST /notify and the NATS `deliver` / `expectReply` path, all on the
 * host's in-process runtime (api.runtime.subagent). Host calls run in the async context captured here,
 * at registration, so that they act as the plugin and not as whichever caller triggered them.
 */
export function registerRelay(api: RelayApi, cfg: NatsPluginConfig, dispatcher: Pick<WakeDispatcher, "relay">, trust: Trust, log: Logger, notice: (message: string) => void = log.info): Relay {
  const detached: Detached = AsyncLocalStorage.snapshot();
  const { timeoutMs, maxTimeoutMs, maxConcurrent, maxConcurrentPerSession } = cfg.relay;
  const settings = { mayTakeTurn: trust.mayTakeTurn.bind(trust), timeoutMs, maxTimeoutMs, maxConcurrent, maxConcurrentPerSession };
  const relay = new Relay(settings, hostTurnRuntime(api.runtime, detached), log);
  const notifyWithHops = hopGuardedNotify((caller, req) => relay.notify(caller, req), processHops(), cfg.wake.maxHops);
  api.registerTool((ctx) => notifyTool((caller, req) => notifyWithHops(caller, req, ctx.sessionKey), ctx, log), { name: "notify_agent" });
  registerRelayHttp(api, cfg, relay, log, notice);
  dispatcher.relay = natsRelayHandler(relay, trust);
  return relay;
}
