import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { hostedAgentIds } from "../shared/hosted-agents.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { SessionsSource } from "./collector.ts";
import { createApiHandler, createPageHandler, loadPage } from "./http.ts";
import { TOKEN_TTL_MS } from "./page-token.ts";
import type { DashboardService } from "./service.ts";

/** Each feed stream ends after this and the browser reconnects with its current token. */
const FEED_LIFETIME_MS = TOKEN_TTL_MS;

type DashboardApi = Pick<OpenClawPluginApi, "registerHttpRoute" | "session" | "runtime">;

/** Agents from the host's config, sessions from its session store. */
function sessionsSource(runtime: OpenClawPluginApi["runtime"], defaultAgent: string): SessionsSource {
  return {
    // "default" marks the plugin's defaultAgent: the one a wake without a target reaches.
    agents: () => ({ ids: hostedAgentIds(runtime.config.current()), defaultId: defaultAgent }),
    sessions: (agentId) =>
      runtime.agent.session.listSessionEntries({ agentId, readOnly: true }).map(({ sessionKey, entry }) => {
        const e = entry as unknown as Record<string, unknown>;
        const channel = typeof e.lastChannel === "string" ? e.lastChannel : typeof e.channel === "string" ? e.channel : undefined;
        return { sessionKey, updatedAt: typeof e.updatedAt === "number" ? e.updatedAt : undefined, channel };
      }),
  };
}

/**
 * `<dashboard.path>` on the gateway port behind gateway auth (no credential, no data), and a "NATS"
 * tab in the Control UI that opens it in its sandboxed frame with a short-lived cookie the Control UI mints.
 */
export function registerDashboard(api: DashboardApi, cfg: NatsPluginConfig, dashboard: DashboardService | undefined, log: Logger, notice: (message: string) => void = log.info): boolean {
  const { enabled, path, refreshMs } = cfg.dashboard;
  if (!enabled || !dashboard) {
    notice("nats: dashboard off (dashboard.enabled: false)");
    return false;
  }
  dashboard.collector.sessionsSource = sessionsSource(api.runtime, cfg.defaultAgent);
  const opts = { base: path, apiBase: `${path}-api`, refreshMs, feedLifetimeMs: FEED_LIFETIME_MS };
  api.registerHttpRoute({ path, auth: "gateway", match: "prefix", handler: createPageHandler(opts, loadPage(), dashboard.tokens) });
  // The data API checks its own page tokens (see page-token.ts): a sibling path, outside the gateway-auth prefix.
  api.registerHttpRoute({ path: opts.apiBase, auth: "plugin", match: "prefix", handler: createApiHandler(opts, { collector: dashboard.collector, feed: dashboard.feed, tokens: dashboard.tokens, log }) });
  try {
    api.session.controls.registerControlUiDescriptor({
      surface: "tab",
      id: "nats",
      label: "NATS",
      description: "NATS connection, wakes, dead letters, event store, durable inbox, agents and a live event feed.",
      path: `${path}/`,
      icon: "activity",
      group: "control",
      requiredScopes: ["operator.read"],
    });
  } catch (err) {
    log.warn(`nats: Control UI tab not registered (${errorMessage(err)}); the dashboard is still at ${path}/`);
  }
  notice(`nats: dashboard at ${path}/ on the gateway port (gateway auth) and as the Control UI tab "NATS"`);
  return true;
}
