import { agentProtocolHost, agentProtocolSettings } from "./src/agent-protocol/register.ts";
import { registerAlertmanager } from "./src/alertmanager/register.ts";
import { registerCli } from "./src/cli/register.ts";
import { configSecrets, redactingLogger } from "./src/connection/redact.ts";
import { registerDashboard } from "./src/dashboard/register.ts";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { recordWakes, registerEventHooks } from "./src/events/hooks.ts";
import { registerCustomEvents } from "./src/events/register-custom.ts";
import { loadConfig } from "./src/plugin/load-config.ts";
import { registerStatus, runtimeStatusSources } from "./src/plugin/register-status.ts";
import { registerNatsTool } from "./src/plugin/register-tool.ts";
import { acquireRuntime } from "./src/plugin/shared-runtime.ts";
import { registerRelay } from "./src/relay/register.ts";
import { registerMemory } from "./src/memory/register.ts";
import { registerMetrics } from "./src/metrics/register.ts";
import { runtimeMetricsSources } from "./src/plugin/metrics-sources.ts";
import { natsSecurityAudit } from "./src/trust/audit.ts";
import { pluginStateDir } from "./src/shared/paths.ts";
import { hostedAgentIds } from "./src/shared/hosted-agents.ts";
import { registerFirstTurnHook } from "./src/wake/first-turns.ts";
import { wakeHost } from "./src/wake/host.ts";
import { AsyncLocalStorage } from "node:async_hooks";

export default definePluginEntry({
  id: "nats",
  name: "NATS",
  description: "Agents on NATS: wake from subjects, the nats tool, a never-lose event store in JetStream, relay.",
  // `openclaw security audit`: relay open to unsigned callers, no allowedTargets, short tokens, plain nats:// off loopback.
  securityAuditCollectors: [natsSecurityAudit],
  register(api) {
    registerCli(api);
    // Root help only collects CLI descriptors; the runtime is not available in that mode.
    if (api.registrationMode === "cli-metadata") return;
    const cfg = loadConfig(api.pluginConfig, api.logger);
    if (!cfg) return;
    // Every line the plugin logs passes through here: no credential from the config reaches the log.
    const log = redactingLogger(api.logger, configSecrets(cfg));
    const stateDir = pluginStateDir(api.runtime.state.resolveStateDir());
    const agentProtocol = cfg.agentProtocol.enabled ? { settings: agentProtocolSettings(cfg, api.version), host: agentProtocolHost(api, cfg, log) } : undefined;
    const hostedAgents = () => hostedAgentIds(api.runtime.config.current());
    const rt = acquireRuntime(cfg, { system: api.runtime.system, logger: log, stateDir, agentProtocol, hostedAgents });

    // Attach: the durable hand-off acts through the newest registration's api (docs/architecture.md, "Runtime model").
    // The claim holds this registration's inbound handlers; the runtime binds them only while this registration owns it.
    const claim = rt.attach(wakeHost(api, AsyncLocalStorage.snapshot()));
    const events = rt.events;
    registerNatsTool(api, cfg, rt.link, rt.trust);
    // Info lines of registration: debug now, info once per process when the gateway's service starts.
    const notice = rt.notices.for(log);
    const relay = registerRelay(api, cfg, claim, rt.trust, log, notice);
    registerAlertmanager(api, cfg, rt.alerts, log, notice);
    registerDashboard(api, cfg, rt.dashboard, log, notice);
    registerMetrics(api, cfg, () => runtimeMetricsSources(rt, relay), log);
    if (events) {
      registerEventHooks(api, cfg.events, events);
      recordWakes(claim, cfg.events, events);
      registerCustomEvents(api, events, log);
    }
    const firstTurns = rt.wake.dispatcher.handoff.waker.firstTurns;
    registerFirstTurnHook(api, firstTurns);
    if (rt.memory) registerMemory(api, rt.memory, log, (runId) => firstTurns.peek(runId));
    registerStatus(api, runtimeStatusSources(rt));

    api.registerService({
      id: "nats",
      start: async () => {
        await rt.start(claim);
        // Messages committed before a crash wait in the session store: give those sessions their turn.
        rt.wake.dispatcher.handoff.recoverPending();
      },
      stop: () => rt.stop(claim),
    });
  },
});
