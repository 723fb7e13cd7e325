import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { Logger } from "../shared/logger.ts";
import type { MetricsSources } from "./collect.ts";
import { createMetricsHandler } from "./http.ts";

/**
 * `metrics.path` on the gateway port, behind gateway auth like the host's own
 * /api/diagnostics/prometheus: Prometheus scrapes with the gateway token as bearer
 * (authorization.credentials_file), so no second secret exists to leak or rotate. Off by default.
 */
export function registerMetrics(api: Pick<OpenClawPluginApi, "registerHttpRoute">, cfg: NatsPluginConfig, sources: () => MetricsSources, log: Logger): boolean {
  const { enabled, path } = cfg.metrics;
  if (!enabled) return false;
  api.registerHttpRoute({ path, auth: "gateway", match: "exact", handler: createMetricsHandler(path, sources, log) });
  log.info(`nats: Prometheus metrics at ${path} on the gateway port (gateway auth)`);
  return true;
}
