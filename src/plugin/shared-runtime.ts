import { createHash } from "node:crypto";
import { RegistrationNotices } from "../shared/notices.ts";
import { mkdirSync } from "node:fs";
import { AgentProtocolService, type AgentProtocolDeps, type AgentProtocolSettings } from "../agent-protocol/service.ts";
import { AlertService } from "../alertmanager/service.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { DashboardService } from "../dashboard/service.ts";
import { NatsLink } from "../connection/link.ts";
import type { ConnectionSettings } from "../connection/options.ts";
import { publishEventsHandle } from "../events/custom.ts";
import { EventStore } from "../events/store.ts";
import { MemoryService } from "../memory/service.ts";
import { memoryEnabled } from "../memory/settings.ts";
import type { Logger } from "../shared/logger.ts";
import { processEntry, processState, setProcessState } from "../shared/process-state.ts";
import { runStopSteps } from "../shared/stop-steps.ts";
import { Trust } from "../trust/trust.ts";
import type { WakeHost } from "../wake/host.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { Hosting } from "../wake/hosting.ts";
import { WakeService } from "../wake/service.ts";
import type { InjectedListener, RelayHandler } from "../wake/dispatcher.ts";

/**
 * Everything that must exist once per gateway process: the NATS connection, the wake subscriptions and
 * the event store (its SQLite spool allows one writer).
 *
 * The host registers the plugin more than once per process (one instance per registry generation; agent
 * runs can use a different instance than the one whose service was started) and loads each generation
 * as its own module copy, so module-level state is not shared. The runtime is therefore an entry of the
 * one process object (shared/process-state.ts), keyed by a digest of the config it was built from;
 * registrations with the same config share it. Which registration's host api each part uses is the
 * policy in docs/architecture.md ("Runtime model"): parts built here use the creating registration's
 * (deps), the durable hand-off the newest attached one's, inbound handlers the owner claim's.
 */
export class NatsRuntime {
  /** Which config this runtime was built from: a SHA-256 of it, so no secret sits in a key held process-wide. */
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
  private readonly logger: Logger;
  private withdrawHandle: (() => void) | undefined;
  private started = false;
  /** Registration info lines, shown once per process when the service starts (not in CLI runs). */
  readonly notices = new RegistrationNotices();
  private claims: RuntimeClaim[] = [];
  private owner: RuntimeClaim | undefined;
  private queue: Promise<void> = Promise.resolve();
  private unwatchSignals: (() => void) | undefined;
  /** The runtime this one replaced in the process slot (another config); stopped before this one starts. */
  predecessor: NatsRuntime | undefined;

  constructor(cfg: NatsPluginConfig, deps: RuntimeDeps) {
    this.cfg = cfg;
    this.configKey = configKeyOf(cfg);
    this.stateDir = deps.stateDir;
    this.logger = deps.logger;
    const settings: ConnectionSettings = {
      url: cfg.url,
      credentials: cfg.credentials,
      tls: cfg.tls,
      reconnect: cfg.reconnect,
      name: `openclaw-nats${cfg.agentName ? `:${cfg.agentName}` : ""}`,
      inboxPrefix: cfg.inboxPrefix,
      ...(cfg.jetstreamDomain ? { jetstreamDomain: cfg.jetstreamDomain } : {}),
    };
    this.link = new NatsLink(settings, deps.logger);
    this.wake = new WakeService(cfg, deps.system, deps.logger, new Hosting(deps.hostedAgents), deps.stateDir);
    this.trust = new Trust(cfg, deps.stateDir, deps.logger);
    this.wake.dispatcher.verifySender = (msg, mode) => this.trust.verify(msg, mode);
    this.events = cfg.events.enabled ? new EventStore({ config: cfg.events, stateDir: deps.stateDir, link: this.link, logger: deps.logger, connection: settings }) : undefined;
    this.agentProtocol = deps.agentProtocol ? new AgentProtocolService(deps.agentProtocol.settings, { ...deps.agentProtocol.host, trust: this.trust }) : undefined;
    this.alerts = cfg.alertmanager.authToken ? new AlertService(cfg, { stateDir: deps.stateDir, logger: deps.logger, handoff: this.wake.dispatcher.handoff.deliverWake }) : undefined;
    this.dashboard = cfg.dashboard.enabled
      ? new DashboardService(cfg, { link: this.link, dispatcher: this.wake.dispatcher, events: this.events, alerts: this.alerts, logger: deps.logger })
      : undefined;
    this.memory = memoryEnabled(cfg) ? new MemoryService({ cfg, stateDir: deps.stateDir, events: this.events, link: this.link, logger: deps.logger }) : undefined;
  }

  /**
   * A registration joins: its host goes first in the durable hand-off's hosts (the newest registration's
   * api; an older registry's api refuses workflow calls, so older ones stay behind it as fallbacks) and
   * it gets the claim its service starts and stops the runtime with (its stop is the detach).
   */
  attach(host: WakeHost): RuntimeClaim {
    this.wake.dispatcher.handoff.addHost(host);
    return { relay: undefined, onInjected: undefined };
  }

  /**
   * Start for one registration's service (`claim`: what that registration points the inbound handlers
   * at). The first claim owns the runtime and binds its handlers; later claims of a running runtime
   * only queue up, so no registration re-points a running runtime. Start and stop run one at a time.
   */
  start(claim: RuntimeClaim): Promise<void> {
    return this.serial(async () => {
      if (!this.claims.includes(claim)) this.claims.push(claim);
      if (this.started) return;
      // One runtime runs per process: a runtime built for an older config stops first (its spool is ours now).
      const before = this.predecessor;
      this.predecessor = undefined;
      await before?.shutdown();
      this.started = true;
      this.watchSignals();
      this.notices.flush();
      this.bind(claim);
      mkdirSync(this.stateDir, { recursive: true });
      this.wake.attach(this.link);
      this.agentProtocol?.attach(this.link);
      void this.link.start();
      await this.events?.start();
      // Other plugins in this process record custom events through globalThis[Symbol.for("openclaw-nats.events")].
      if (this.events) this.withdrawHandle = publishEventsHandle(this.events, this.logger);
      await this.alerts?.start();
      this.dashboard?.start();
      this.memory?.start();
    });
  }

  /**
   * Stop for one registration's service. The owner's stop hands the runtime to the newest other claim
   * (handlers re-bound once, subscriptions untouched); the last claim's stop stops everything.
   */
  stop(claim: RuntimeClaim): Promise<void> {
    return this.serial(async () => {
      this.claims = this.claims.filter((c) => c !== claim);
      if (!this.started) return;
      const next = this.claims.at(-1);
      if (next) {
        if (this.owner === claim) this.bind(next);
        return;
      }
      await this.shutdownNow();
    });
  }

  /** Stop regardless of claims (a runtime for a newer config takes over). */
  shutdown(): Promise<void> {
    return this.serial(() => this.shutdownNow());
  }

  /** Whether it runs, and how many registrations' services claim it (status, tests). */
  lifecycle(): { started: boolean; claims: number } {
    return { started: this.started, claims: this.claims.length };
  }

  private bind(claim: RuntimeClaim): void {
    this.owner = claim;
    this.wake.dispatcher.relay = claim.relay;
    this.wake.dispatcher.onInjected = claim.onInjected;
  }

  private async shutdownNow(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.owner = undefined;
    this.unwatchSignals?.();
    this.unwatchSignals = undefined;
    // Each step runs whatever the one before did: a failing part must not leave the spool locked or the link open.
    await runStopSteps(
      "runtime stop",
      [
        ["dashboard", () => this.dashboard?.stop()],
        ["alertmanager receiver", () => this.alerts?.stop()],
        ["wake service", () => this.wake.stop()],
        ["agent protocol", () => this.agentProtocol?.stop()],
        ["memory", () => this.memory?.stop()],
        ["events handle", () => this.withdrawHandle?.()],
        ["event flush", () => this.events?.flush(2000)],
        ["event store", () => this.events?.stop()],
        ["connection", () => this.link.stop()],
      ],
      this.logger,
    );
  }

  /**
   * The host handles SIGTERM/SIGINT by draining active work (a budget of minutes) before it stops plugin
   * services, so the service stop comes too late to hand work back. A listener of ours hears the signal
   * with the host's (it does not change how the process exits) and hands the wake side's work back now.
   */
  private watchSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.logger.info(`nats: ${signal}: handing back work the host does not hold yet (inbox naks, no new wake turns)`);
      void this.wake.quiesce().catch(() => undefined);
    };
    const signals = ["SIGTERM", "SIGINT"] as const;
    for (const s of signals) process.on(s, onSignal);
    this.unwatchSignals = () => {
      for (const s of signals) process.off(s, onSignal);
    };
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** What one registration points the runtime's inbound handlers at (bound only while it owns the runtime). */
export interface RuntimeClaim {
  relay: RelayHandler | undefined;
  onInjected: InjectedListener | undefined;
}

export interface RuntimeDeps {
  system: SystemRuntime;
  logger: Logger;
  stateDir: string;
  /** The agents this gateway hosts, read from the live host config when the service starts. */
  hostedAgents?: () => readonly string[];
  /** Host side of the agent protocol; given only when `agentProtocol.enabled`. */
  agentProtocol?: { settings: AgentProtocolSettings; host: Omit<AgentProtocolDeps, "trust"> };
}

/** Same config, same key; the key is a digest, never the config text (which holds credentials). */
export function configKeyOf(cfg: NatsPluginConfig): string {
  return createHash("sha256").update(JSON.stringify(cfg)).digest("hex");
}

/** The process's runtime (one at a time): an entry of the one process object, not a slot of its own. */
const RUNTIME = processEntry<NatsRuntime | undefined>("plugin", "runtime", () => undefined);

/**
 * The process-wide runtime for this config: the existing one when the config matches (also after it was
 * stopped: it starts again), else a new one that stops the old one before it starts (a config reload).
 */
export function acquireRuntime(cfg: NatsPluginConfig, deps: RuntimeDeps): NatsRuntime {
  const existing = processState(RUNTIME);
  if (existing && existing.configKey === configKeyOf(cfg)) return existing;
  const created = new NatsRuntime(cfg, deps);
  created.predecessor = existing;
  setProcessState(RUNTIME, created);
  return created;
}
