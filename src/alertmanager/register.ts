import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { Logger } from "../shared/logger.ts";
import { createAlertmanagerHandler } from "./http.ts";
import type { AlertService } from "./service.ts";

/** POST <alertmanager.path> on the gateway's own port, only with alertmanager.authToken set; says which in the log. */
export function registerAlertmanager(api: Pick<OpenClawPluginApi, "registerHttpRoute">, cfg: NatsPluginConfig, alerts: AlertService | undefined, log: Logger, notice: (message: string) => void = log.info): boolean {
  const { authToken, path, maxBodyBytes } = cfg.alertmanager;
  if (!authToken || !alerts) {
    notice(`nats: alertmanager receiver off: set alertmanager.authToken (16+ characters) to enable POST ${path}`);
    return false;
  }
  // auth "plugin": Alertmanager authenticates with its own token, not the gateway's.
  api.registerHttpRoute({ path, auth: "plugin", match: "exact", handler: createAlertmanagerHandler({ token: authToken, maxBodyBytes }, alerts.receiver, log) });
  notice(`nats: alertmanager receiver POST ${path} on the gateway port (bearer or basic auth with alertmanager.authToken)`);
  return true;
}
