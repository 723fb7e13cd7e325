import type { AgentStreamConfig, EventsConfig } from "../config/schema.ts";
import { NatsLink } from "../connection/link.ts";
import { agentInboxPrefix, dialTarget, type ConnectionSettings } from "../connection/options.ts";
import type { Logger } from "../shared/logger.ts";
import { eventSubject, subjectsOverlap } from "../shared/subjects.ts";
import type { LaneDrainer } from "../spool/drain.ts";
import { streamSpec, type EnsureOutcome, type StreamSpec } from "./stream.ts";
import type { SubjectFilter } from "./subject-filter.ts";

// Where each agent's events go: which connection (the plugin's, or an agent's own url/credentials), which
// stream on it, which spool lane drains them. Built once from the config; the store and its readers share it.

export interface TopologyOptions {
  config: EventsConfig;
  /** The plugin's shared connection (started and stopped by its owner). */
  link: NatsLink;
  logger: Logger;
  /** Builds the connection for an agent with its own `url`/`credentials`; the store starts and stops it. */
  linkFactory?: (agentId: string, override: AgentStreamConfig) => NatsLink;
  /** Base settings the default linkFactory derives agent connections from (reconnect, TLS, name, url). */
  connection?: ConnectionSettings;
}

/** Where events are read back from: a connection, a stream and the agents whose subjects it holds. */
export interface ReadRoute {
  /** "default", or the agent ids sharing an own connection. */
  label: string;
  link: NatsLink;
  stream: string;
  prefix: string;
  /** "*": every agent token under `prefix` in this stream (the default route). */
  agents: string[] | "*";
}

/** One connection events use, with the streams provisioned on it. */
export interface LinkEntry {
  key: string;
  label: string;
  link: NatsLink;
  owned: boolean;
  ready: boolean;
  provisioning: boolean;
  provisionedAt: number;
  /** Pause before provisioning is tried again after a failure; doubles up to 5 minutes. */
  retryMs: number;
  maxPayload: number;
  specs: Map<string, StreamSpec>;
  outcomes: Map<string, EnsureOutcome>;
  lastInfo: Map<string, { messages: number; bytes: number }>;
  unsubscribe?: () => void;
}

/** A spool lane: its rows are published, in order, over one connection. */
export interface Lane {
  name: string;
  link: LinkEntry;
  drainer?: LaneDrainer;
}

interface Route {
  prefix: string;
  lane: Lane;
}

export interface Destination {
  subject: string;
  lane: Lane;
  pass: boolean;
}

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const PROVISION_RETRY_MS = 5000;
const DEFAULT_LANE = "default";
const DESTINATION_CACHE_LIMIT = 10_000;

export class Topology {
  readonly links = new Map<string, LinkEntry>();
  readonly lanes = new Map<string, Lane>();
  readonly defaultRoute: Route;
  private readonly agentRoutes = new Map<string, Route>();
  private readonly destinations = new Map<string, Destination>();
  private readonly config: EventsConfig;
  private readonly log: Logger;

  constructor(opts: TopologyOptions) {
    this.config = opts.config;
    this.log = opts.logger;
    const main = this.linkEntry("default", "default", opts.link, false);
    this.defaultRoute = { prefix: opts.config.subjectPrefix, lane: this.lane(DEFAULT_LANE, main) };
    this.addSpec(main, opts.config.streamName, opts.config.subjectPrefix);
    for (const [agentId, override] of Object.entries(opts.config.agents)) {
      const route = this.agentRoute(agentId, override, main, opts);
      this.agentRoutes.set(agentId, route);
      this.addSpec(route.lane.link, override.streamName ?? opts.config.streamName, route.prefix);
    }
    this.warnOverlaps();
  }

  /** The connection of the default stream. */
  get main(): LinkEntry {
    return this.defaultRoute.lane.link;
  }

  /** The lane named `name`, created on `link` when new (a spool lane from an earlier config drains over the default connection). */
  lane(name: string, link: LinkEntry = this.main): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { name, link };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  /** Subject, lane and allow/block verdict of an agent's event type; cached, since record() asks per event. */
  destination(agent: string, type: string, filter: SubjectFilter): Destination {
    const key = `${agent}\n${type}`;
    let dest = this.destinations.get(key);
    if (!dest) {
      const route = this.agentRoutes.get(agent) ?? this.defaultRoute;
      const subject = eventSubject(route.prefix, agent, type);
      dest = { subject, lane: route.lane, pass: filter.passes(subject) };
      if (this.destinations.size >= DESTINATION_CACHE_LIMIT) this.destinations.clear();
      this.destinations.set(key, dest);
    }
    return dest;
  }

  /**
   * The streams this store writes to, with the connection it uses for each: readers (memory) reuse the
   * plugin's connections and an agent's own credentials for its own stream.
   */
  readRoutes(): ReadRoute[] {
    const routes: ReadRoute[] = [];
    const main = this.main;
    routes.push({ label: main.label, link: main.link, stream: this.config.streamName, prefix: this.config.subjectPrefix, agents: "*" });
    for (const [agentId, route] of this.agentRoutes) {
      const stream = this.config.agents[agentId]?.streamName ?? this.config.streamName;
      const entry = route.lane.link;
      if (entry === main && stream === this.config.streamName && route.prefix === this.config.subjectPrefix) continue;
      const same = routes.find((r) => r.link === entry.link && r.stream === stream && r.prefix === route.prefix);
      if (same && same.agents !== "*") same.agents.push(agentId);
      else if (!same) routes.push({ label: entry.label, link: entry.link, stream, prefix: route.prefix, agents: [agentId] });
    }
    return routes;
  }

  private linkEntry(key: string, label: string, link: NatsLink, owned: boolean): LinkEntry {
    const entry: LinkEntry = {
      key,
      label,
      link,
      owned,
      ready: false,
      provisioning: false,
      provisionedAt: 0,
      retryMs: PROVISION_RETRY_MS,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      specs: new Map(),
      outcomes: new Map(),
      lastInfo: new Map(),
    };
    this.links.set(key, entry);
    return entry;
  }

  private agentRoute(agentId: string, override: AgentStreamConfig, main: LinkEntry, opts: TopologyOptions): Route {
    const prefix = override.subjectPrefix ?? this.config.subjectPrefix;
    if (!override.url && !override.credentials) return { prefix, lane: this.defaultRoute.lane };
    const key = JSON.stringify([override.url ?? opts.connection?.url ?? "", override.credentials ?? null]);
    let entry = this.links.get(key);
    if (entry) {
      entry.label += `,${agentId}`;
    } else {
      const link = this.makeLink(agentId, override, opts);
      entry = link ? this.linkEntry(key, agentId, link, true) : main;
    }
    return { prefix, lane: this.lane(`agent:${agentId}`, entry) };
  }

  private makeLink(agentId: string, override: AgentStreamConfig, opts: TopologyOptions): NatsLink | undefined {
    if (opts.linkFactory) return opts.linkFactory(agentId, override);
    const base = opts.connection;
    const url = override.url ?? base?.url;
    if (!url) {
      this.log.warn(`events: agents.${agentId} sets credentials but no url, and no base connection was given; using the default connection`);
      return undefined;
    }
    const settings: ConnectionSettings = {
      url,
      // A per-agent URL with its own user-info speaks for itself; the default connection's credentials are not inherited then.
      credentials: override.credentials ?? (override.url && dialTarget(override.url).credentials ? undefined : base?.credentials),
      tls: base?.tls,
      reconnect: base?.reconnect ?? { maxAttempts: -1, delayMs: 1000, maxDelayMs: 30_000 },
      name: `${base?.name ?? "openclaw"}-events-${agentId}`,
      inboxPrefix: agentInboxPrefix(base?.inboxPrefix, agentId),
      // The same servers, the same domain; an agent's own url is another deployment, addressed as it is.
      ...(!override.url && base?.jetstreamDomain ? { jetstreamDomain: base.jetstreamDomain } : {}),
    };
    return new NatsLink(settings, this.log);
  }

  private addSpec(entry: LinkEntry, stream: string, prefix: string): void {
    const prefixes = [...(entry.specs.get(stream)?.subjects.map((s) => s.slice(0, -2)) ?? []), prefix];
    entry.specs.set(stream, streamSpec(this.config, stream, prefixes));
  }

  private warnOverlaps(): void {
    for (const entry of this.links.values()) {
      const specs = [...entry.specs.values()];
      for (let i = 0; i < specs.length; i++) {
        for (let j = i + 1; j < specs.length; j++) {
          const clash = specs[i].subjects.find((a) => specs[j].subjects.some((b) => subjectsOverlap(a, b)));
          if (clash) {
            this.log.warn(
              `events: streams "${specs[i].name}" and "${specs[j].name}" on the ${entry.label} connection would share subjects (${clash}); NATS refuses that, give the agent its own subjectPrefix or url`,
            );
          }
        }
      }
    }
  }
}
