import { join } from "node:path";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { eventIdTime } from "../../events/envelope.ts";
import { errorMessage } from "../../shared/logger.ts";
import { peekSpool } from "../../spool/peek.ts";
import { formatAge, type PluginStatus } from "../../status/status.ts";
import { GatewayUnavailableError, type NatsCli } from "../context.ts";
import { fail, ok, skip, warn, type CheckResult } from "./check.ts";
import type { GatewayRpcOpts } from "openclaw/plugin-sdk/gateway-runtime";

/** By default a spool whose oldest event waits longer than this is a backlog worth a warning. */
export const SPOOL_AGE_WARN_MS = 60_000;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** The plugin's own settings, as the CLI loaded them. */
export function configCheck(cli: NatsCli): { result: CheckResult; cfg: NatsPluginConfig | undefined } {
  try {
    const cfg = cli.pluginConfig();
    if (!cfg.enabled) {
      return { cfg, result: warn("config", "config", "plugins.entries.nats.config.enabled is false: the plugin does nothing", "openclaw config set plugins.entries.nats.config.enabled true") };
    }
    return { cfg, result: ok("config", "config", "plugins.entries.nats.config is valid") };
  } catch (err) {
    return { cfg: undefined, result: fail("config", "config", errorMessage(err), "fix the fields named here (openclaw config validate lists them too); the plugin stays idle until then") };
  }
}

/** Run and LLM events need the host's conversation-access opt-in for this plugin. */
export function conversationAccessCheck(cli: NatsCli, cfg: NatsPluginConfig): CheckResult {
  const title = "conversation access";
  if (!cfg.events.enabled) return skip("conversation-access", title, "event store off");
  const hooks = obj(obj(obj(obj(cli.host.config).plugins).entries).nats).hooks;
  if (obj(hooks).allowConversationAccess === true) return ok("conversation-access", title, "hooks.allowConversationAccess is on: run and LLM events are recorded");
  return warn(
    "conversation-access",
    title,
    "plugins.entries.nats.hooks.allowConversationAccess is off: run.start/end/error and llm.input/output events are not recorded (the host withholds those hooks)",
    "openclaw config set plugins.entries.nats.hooks.allowConversationAccess true",
  );
}

/** With Tool Search on (the host's default), the model sees the `nats` tool only through tool_search/tool_call. */
export function toolSearchCheck(cli: NatsCli): CheckResult {
  const title = "tool search";
  const setting = obj(obj(cli.host.config).tools).toolSearch;
  if (setting === false) return ok("tool-search", title, "tools.toolSearch is false: the model sees the nats tool's schema directly");
  const mode = setting === undefined ? "unset, so on (the default)" : JSON.stringify(setting);
  return warn(
    "tool-search",
    title,
    `tools.toolSearch is ${mode}: the nats and notify_agent tools are hidden behind tool_search/tool_call, so a model must search for them before it can publish`,
    "openclaw config set tools.toolSearch false   (gives the model the tool schemas directly)",
  );
}

/**
 * The running gateway's own view (connected? last error? spool?) and the spool backlog. Without a
 * gateway the spool file is read from disk: events left from an earlier run.
 */
export async function gatewayAndSpoolChecks(cli: NatsCli, cfg: NatsPluginConfig, rpc: GatewayRpcOpts, maxAgeMs = SPOOL_AGE_WARN_MS): Promise<CheckResult[]> {
  let status: PluginStatus | undefined;
  let gateway: CheckResult;
  try {
    status = (await cli.callGateway("nats.status", rpc)) as unknown as PluginStatus;
    const c = status.connection;
    gateway = c.connected
      ? ok("gateway", "gateway", `running; the plugin is connected to ${c.server}`)
      : warn("gateway", "gateway", `running, but the plugin is not connected to NATS${c.lastError ? ` (last error: ${c.lastError})` : ""}`, "see the checks above for why; the plugin reconnects by itself once NATS answers");
  } catch (err) {
    if (!(err instanceof GatewayUnavailableError)) throw err;
    gateway =
      err.reason === "unreachable"
        ? skip("gateway", "gateway", "not running (or not reachable): spool read from disk")
        : warn("gateway", "gateway", err.message, err.next ?? "openclaw plugins inspect nats");
  }
  return [gateway, spoolCheck(cfg, status, (await cli.stateDirs()).plugin, maxAgeMs)];
}

function spoolCheck(cfg: NatsPluginConfig, status: PluginStatus | undefined, pluginDir: string, maxAgeMs: number): CheckResult {
  const title = "spool";
  if (!cfg.events.enabled) return skip("spool", title, "event store off");
  const now = Date.now();
  const events = status?.events;
  if (events && !("enabled" in events)) {
    const age = events.spoolOldestAt === undefined ? 0 : now - events.spoolOldestAt;
    const dropped = events.dropped > 0 ? `; ${events.dropped} event(s) dropped (spool full or refused by the server)` : "";
    if (events.spoolDepth === 0) return dropped ? warn("spool", title, `empty${dropped}`, "raise events.spool.maxBytes if NATS outages outlast it") : ok("spool", title, `empty; ${events.published} published`);
    const what = `${events.spoolDepth} event(s) waiting, the oldest for ${formatAge(age)}${dropped}${events.lastError ? ` (last error: ${events.lastError})` : ""}`;
    if (age < maxAgeMs && !dropped) return ok("spool", title, `${what}: draining`);
    return warn("spool", title, `backlog: ${what}`, "JetStream is not taking events: see the server, credentials, jetstream, streams and permissions checks; the spool drains by itself once they pass");
  }
  const file = join(pluginDir, "event-spool.sqlite");
  let peek;
  try {
    peek = peekSpool(file);
  } catch (err) {
    return skip("spool", title, `cannot read ${file}: ${errorMessage(err)}`);
  }
  if (!peek || peek.rows === 0) return ok("spool", title, peek ? "empty" : "no spool yet");
  const at = peek.oldestId ? eventIdTime(peek.oldestId) : undefined;
  return warn(
    "spool",
    title,
    `${peek.rows} event(s) from an earlier run wait in ${file}${at ? `, the oldest for ${formatAge(now - at)}` : ""}`,
    "start the gateway: they are published first thing, once NATS answers",
  );
}
