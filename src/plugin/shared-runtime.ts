import { mkdirSync } from "node:fs";
import { AgentProtocolService, type AgentProtocolDeps, type AgentProtocolSettings } from "../agent-protocol/service.ts";
import { AlertService } from "../alertmanager/service.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { DashboardService } from "../dashboard/service.ts";
import { NatsLink } from "../connection/link.ts";
import type { ConnectionSettings } from "../connection/options.ts";
import { EventStore } from "../events/store.ts";
import { MemoryService } from "../memory/service.ts";
import { memoryEnabled } from "../memory/settings.ts";
import type { Logger } from "../shared/logger.ts";
import { Trust } from "../trust/trust.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { WakeService } from "./wake-service.ts";

/**
 * Everything that must exist once per gateway process: the NATS connection, the wake subscriptions and
 * the event store (its SQLite spool allows one writer).
 *
 * The host registers the plugin more than once per process (one instance per registry generation; agent
 * runs can use a different instance than the one whose service was started) and loads each generation
 * as its own module copy, so module-level state is not shared. The runtime therefore lives on globalThis,
 * keyed by the config it was built from; instances with the same config share it.
 */
export class NatsRuntime {
  readonly configKey: string;
  readonly cfg: NatsPluginConfig;
  readonly link: NatsLink;
  readonly wake: WakeService;
  readonly events: EventStore | undefined;
  /** Agent protocol v0.3 services for the hosted agents (`agentProtocol.enabled`). */
  readonly agentProtocol: AgentProtocolService | undefined;
  readonly memory: MemoryService | undefined;
  readonly trust: Trust;
  /** The Alertmanager receiver's state and outbox; only with alertmanager.authToken. */
  readonly alerts: AlertService | undefined;
  /** What /nats-dashboard reads and streams; only with dashboard.enabled. */
  readonly dashboard: DashboardService | undefined;
  private readonly stateDir: string;
  private started = false;

  constructor(cfg: NatsPluginConfig, deps: RuntimeDeps) {
    this.cfg = cfg;
    this.configKey = JSON.stringify(cfg);
    this.stateDir = deps.stateDir;
    const settings: ConnectionSettings = {
      url: cfg.url,
      credentials: cfg.credentials,
      tls: cfg.tls,
      reconnect: cfg.reconnect,
      name: `openclaw-nats${cfg.agentName ? `:${cfg.agentName}` : ""}`,
      inboxPrefix: cfg.inboxPrefix,
    };
    this.link = new NatsLink(settings, deps.logger);
    this.wake = new WakeService(cfg, deps.system, deps.logger);
    this.trust = new Trust(cfg, deps.stateDir, deps.logger);
    this.wake.dispatcher.verifySender = (msg, mode) => this.trust.verify(msg, mode);
    this.events = cfg.events.enabled ? new EventStore({ config: cfg.events, stateDir: deps.stateDir, link: this.link, logger: deps.logger, connection: settings }) : undefined;
    this.agentProtocol = deps.agentProtocol ? new AgentProtocolService(deps.agentProtocol.settings, { ...deps.agentProtocol.host, trust: this.trust }) : undefined;
    this.alerts = cfg.alertmanager.authToken ? new AlertService(cfg, { stateDir: deps.stateDir, system: deps.system, logger: deps.logger }) : undefined;
    this.dashboard = cfg.dashboard.enabled
      ? new DashboardService(cfg, { link: this.link, dispatcher: this.wake.dispatcher, events: this.events, alerts: this.alerts, logger: deps.logger })
      : undefined;
    this.memory = memoryEnabled(cfg) ? new MemoryService({ cfg, stateDir: deps.stateDir, events: this.events, link: this.link, logger: deps.logger }) : undefined;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    mkdirSync(this.stateDir, { recursive: true });
    this.wake.attach(this.link);
    this.agentProtocol?.attach(this.link);
    void this.link.start();
    await this.events?.start();
    await this.alerts?.start();
    this.dashboard?.start();
    this.memory?.start();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.dashboard?.stop();
    this.alerts?.stop();
    await this.wake.stop();
    await this.agentProtocol?.stop();
    await this.memory?.stop();
    await this.events?.flush(2000);
    await this.events?.stop();
    await this.link.stop();
  }
}

export interface RuntimeDeps {
  system: SystemRuntime;
  logger: Logger;
  stateDir: string;
  /** Host side of the agent protocol; given only when `agentProtocol.enabled`. */
  agentProtocol?: { settings: AgentProtocolSettings; host: Omit<AgentProtocolDeps, "trust"> };
}

const SLOT = Symbol.for("openclaw-nats.runtime");
type Slot = { [SLOT]?: NatsRuntime };

/**
 * The process-wide runtime for this config: the existing one when the config matches, else a new one
 * (an instance registered with a new config gets its own; the old one is stopped by its own service).
 */
export function acquireRuntime(cfg: NatsPluginConfig, deps: RuntimeDeps): NatsRuntime {
  const slot = globalThis as Slot;
  const existing = slot[SLOT];
  if (existing && existing.configKey === JSON.stringify(cfg)) return existing;
  const created = new NatsRuntime(cfg, deps);
  slot[SLOT] = created;
  return created;
}

/** Forget a stopped runtime so a later registration builds a fresh one. */
export function releaseRuntime(rt: NatsRuntime): void {
  const slot = globalThis as Slot;
  if (slot[SLOT] === rt) delete slot[SLOT];
}
