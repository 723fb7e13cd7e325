import { Type, type Static } from "typebox";
import { AGENT_ID_PATTERN } from "../shared/session-key.ts";
import { CredentialsSchema, DeadLetterStreamSchema, InboxSchema, ReconnectSchema, TlsSchema, ToolSchema } from "./sections/connection.ts";
import { AgentStreamSchema, EventsSchema, MemoryAgentSchema, MemorySchema } from "./sections/events.ts";
import { AlertmanagerRouteSchema, AlertmanagerSchema, DashboardSchema, MetricsSchema, WakeSchema } from "./sections/operate.ts";
import { NATS_URL_PATTERN, Placement, Replicas, Subject } from "./sections/primitives.ts";
import { AgentProtocolSchema, RelayCallerSchema, RelaySchema, TrustSchema } from "./sections/trust.ts";

// The plugin's one config schema (the manifest is generated from it). The sections live in ./sections/
// by concern; everything is re-exported here so the rest of the code has one place to import from.

export { AGENT_ID_PATTERN };
export { CredentialsSchema, DeadLetterStreamSchema, InboxSchema, ReconnectSchema, TlsSchema, ToolSchema };
export { AgentStreamSchema, EventsSchema, MemoryAgentSchema, MemorySchema };
export { AlertmanagerRouteSchema, AlertmanagerSchema, DashboardSchema, WakeSchema };
export { AgentProtocolSchema, RelayCallerSchema, RelaySchema, TrustSchema };
export { CALLER_ID_PATTERN } from "./sections/trust.ts";

export const ConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: "master switch: false turns the whole plugin off", default: true }),
    url: Type.String({ description: "nats://, tls://, ws:// or wss://; several servers comma-separated; user-info (nats://user:pass@host, nats://token@host) is used as credentials unless credentials is set, and is never shown", pattern: NATS_URL_PATTERN, default: "nats://127.0.0.1:4222" }),
    subjects: Type.Array(Subject, { description: "wake subjects (wildcards * and >); agent.*.… is subscribed per hosted agent (several gateways, see docs/wake.md)", default: ["agent.*.inbox"] }),
    broadcastSubjects: Type.Array(Subject, {
      default: ["system.broadcast"],
      description: "subjects (of those in subjects) whose messages go to the main session of every agent this gateway hosts",
    }),
    queueGroup: Type.String({
      pattern: "^[A-Za-z0-9_-]+$",
      default: "openclaw-nats",
      description: "NATS queue group of the wake subscriptions: gateways hosting the same agent share its messages",
    }),
    credentials: Type.Optional(CredentialsSchema),
    tls: Type.Optional(TlsSchema),
    inboxPrefix: Type.String({
      pattern: "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$",
      default: "_INBOX",
      description: "prefix of this gateway's reply subjects; give it its own (e.g. _INBOX.gw-a) so NATS permissions keep replies to it private",
    }),
    reconnect: ReconnectSchema,
    defaultAgent: Type.String({ description: "agent woken when a message names no session, to or agent subject", pattern: AGENT_ID_PATTERN, default: "main" }),
    agentName: Type.Optional(Type.String({ description: "fallback from for the nats tool; shown in the connection name", minLength: 1 })),
    maxBodyBytes: Type.Integer({ description: "largest accepted wake body", minimum: 1, default: 64 * 1024 }),
    deadLetterSubject: Type.String({ description: "where rejected messages go, with the reason", minLength: 1, pattern: "^[^\\s*>]+$", default: "openclaw.nats.dlq" }),
    deadLetterStream: DeadLetterStreamSchema,
    /** Default for every stream the plugin keeps (inbox, dead letters, events); each section's own value overrides. */
    replicas: Type.Optional(Replicas),
    placement: Type.Optional(Placement),
    jetstreamDomain: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[A-Za-z0-9_-]+$",
        description:
          "JetStream domain that holds the plugin's streams (inbox, dead letters, events), e.g. a leaf node's own domain (jetstream { domain } in its nats-server.conf); the API calls go to $JS.<domain>.API. Unset: the JetStream of the server connected to (see docs/cluster.md, edge sites)",
      }),
    ),
    inbox: InboxSchema,
    tool: ToolSchema,
    events: EventsSchema,
    memory: MemorySchema,
    relay: RelaySchema,
    agentProtocol: AgentProtocolSchema,
    trust: TrustSchema,
    alertmanager: AlertmanagerSchema,
    dashboard: DashboardSchema,
    metrics: MetricsSchema,
    wake: WakeSchema,
  },
  { additionalProperties: false },
);

export type NatsPluginConfig = Static<typeof ConfigSchema>;
export type WakeConfig = Static<typeof WakeSchema>;
export type Credentials = Static<typeof CredentialsSchema>;
export type TlsOptions = Static<typeof TlsSchema>;
export type EventsConfig = Static<typeof EventsSchema>;
export type RelayConfig = Static<typeof RelaySchema>;
export type AgentProtocolConfig = Static<typeof AgentProtocolSchema>;
export type MemoryConfig = Static<typeof MemorySchema>;
export type MemoryAgentConfig = Static<typeof MemoryAgentSchema>;
export type TrustConfig = Static<typeof TrustSchema>;
export type AgentStreamConfig = Static<typeof AgentStreamSchema>;
export type AlertmanagerConfig = Static<typeof AlertmanagerSchema>;
export type AlertmanagerRoute = Static<typeof AlertmanagerRouteSchema>;
export type PlacementConfig = Static<typeof Placement>;
export type DashboardConfig = Static<typeof DashboardSchema>;
