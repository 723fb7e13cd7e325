import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { Logger } from "../shared/logger.ts";
import { recordCustomEvent } from "./custom.ts";
import type { EventStore } from "./store.ts";

/**
 * `nats.events.record {agent, name, payload?, session?, visibility?}` → `{ok, id, type}`: a custom event
 * through the spool. Writes, so it needs operator.write; a refusal is a log line and an INVALID_REQUEST.
 */
export function registerCustomEvents(api: Pick<OpenClawPluginApi, "registerGatewayMethod">, events: EventStore, log: Logger): void {
  api.registerGatewayMethod(
    "nats.events.record",
    ({ params, respond }) => {
      const res = recordCustomEvent(events, params);
      if (res.ok) return respond(true, res);
      log.warn(`events: nats.events.record refused: ${res.error}`);
      respond(false, undefined, { code: "INVALID_REQUEST", message: res.error });
    },
    { scope: "operator.write" },
  );
}
