import { AsyncLocalStorage } from "node:async_hooks";
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { Logger } from "../shared/logger.ts";
import type { WakeDispatcher } from "../wake/dispatcher.ts";
import { hostTurnRuntime, type Detached } from "./host-runtime.ts";
import { createNotifyHandler } from "./http-route.ts";
import { natsRelayHandler } from "./nats-relay.ts";
import { notifyTool } from "./notify-tool.ts";
import { Relay } from "./relay.ts";

type RelayApi = Pick<OpenClawPluginApi, "registerTool" | "registerHttpRoute" | "runtime">;

/** POST <relay.path> on the gateway's own HTTP server, only with relay.authToken set; says which in the log. */
export function registerRelayHttp(api: Pick<OpenClawPluginApi, "registerHttpRoute">, cfg: NatsPluginConfig, relay: Pick<Relay, "notify">, log: Logger): boolean {
  const { authToken, path } = cfg.relay;
  if (!authToken) {
    log.info(`nats: relay HTTP endpoint off: set relay.authToken (16+ characters) to enable POST ${path}`);
    return false;
  }
  const handler = createNotifyHandler({ token: authToken, maxBodyBytes: cfg.maxBodyBytes }, (caller, req) => relay.notify(caller, req), log);
  api.registerHttpRoute({ path, auth: "plugin", match: "exact", handler });
  log.info(`nats: relay HTTP endpoint POST ${path} on the gateway port (Bearer relay.authToken)`);
  return true;
}

/**
 * The relay: the notify_agent tool, POST /notify and the NATS `deliver` / `expectReply` path, all on the
 * host's in-process runtime (api.runtime.subagent). Host calls run in the async context captured here,
 * at registration, so that they act as the plugin and not as whichever caller triggered them.
 */
export function registerRelay(api: RelayApi, cfg: NatsPluginConfig, dispatcher: WakeDispatcher, log: Logger): Relay {
  const detached: Detached = AsyncLocalStorage.snapshot();
  const relay = new Relay({ allowedTargets: cfg.relay.allowedTargets, timeoutMs: cfg.relay.timeoutMs }, hostTurnRuntime(api.runtime, detached), log);
  api.registerTool((ctx) => notifyTool((caller, req) => relay.notify(caller, req), ctx, log), { name: "notify_agent" });
  registerRelayHttp(api, cfg, relay, log);
  dispatcher.relay = natsRelayHandler(relay);
  return relay;
}
