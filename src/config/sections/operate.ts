import { Type } from "typebox";
import { AGENT_ID_PATTERN, SESSION_KEY_MAX_LENGTH, SESSION_KEY_PATTERN } from "../../shared/session-key.ts";
import { PriorityValue } from "./primitives.ts";

// Operating surfaces: the Alertmanager receiver, the dashboard, and the wake-turn guards.

export const AlertmanagerRouteSchema = Type.Object(
  {
    receiver: Type.Optional(Type.String({ minLength: 1, description: "match the webhook's receiver name" })),
    labels: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: "match when every listed label has this value in the group's commonLabels" })),
    agent: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: "wake this agent's main session" })),
    sessionKey: Type.Optional(Type.String({ pattern: SESSION_KEY_PATTERN, maxLength: SESSION_KEY_MAX_LENGTH, description: "wake this exact session" })),
  },
  { additionalProperties: false },
);

export const AlertmanagerSchema = Type.Object(
  {
    authToken: Type.Optional(Type.String({ minLength: 16, description: "bearer token (or basic-auth password) for POST <alertmanager.path>; without it the receiver is off" })),
    path: Type.String({ description: "HTTP path of POST /alertmanager on the gateway's own server", pattern: "^/[A-Za-z0-9/_-]*$", default: "/alertmanager" }),
    agent: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: "agent woken when no route matches; default: defaultAgent" })),
    routes: Type.Array(AlertmanagerRouteSchema, { default: [], description: "first match wins; a route names agent or sessionKey" }),
    severityLabel: Type.String({ description: "which label carries the severity", minLength: 1, default: "severity" }),
    priorityLabel: Type.String({ minLength: 1, default: "openclaw_priority", description: "per-alert override: an alert with this label (urgent|normal|low) gets that priority" }),
    priorities: Type.Record(Type.String({ minLength: 1 }), PriorityValue, {
      default: { critical: "urgent", page: "urgent", error: "normal", warning: "normal", info: "low" },
      description: "severity label value → wake priority",
    }),
    defaultPriority: Type.Union([Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")], { description: "priority for unknown severities", default: "normal" }),
    resolvedPriority: Type.Union([Type.Literal("same"), Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")], {
      default: "same",
      description: "priority of the resolved note; same = the priority the group fired with",
    }),
    maxBodyBytes: Type.Integer({ description: "webhook size limit", minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
    maxAlertsInText: Type.Integer({ description: "alerts listed per wake", minimum: 1, maximum: 500, default: 20 }),
    stateRetentionHours: Type.Number({ minimum: 1, default: 168, description: "forget a group this long after its last notification" }),
  },
  { additionalProperties: false, default: {} },
);

export const DashboardSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: "serve the dashboard (gateway auth) and offer it as a Control UI tab" }),
    path: Type.String({ description: "where the dashboard is served (its data API is <path>-api)", pattern: "^/[A-Za-z0-9_-]+$", default: "/nats-dashboard" }),
    refreshMs: Type.Integer({ description: "how often the page refreshes", minimum: 1000, maximum: 60_000, default: 3000 }),
  },
  { additionalProperties: false, default: {} },
);

export const MetricsSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: "serve Prometheus metrics (text exposition) on the gateway port behind gateway auth: scrape with the gateway token as bearer (docs/metrics.md)",
    }),
    path: Type.String({ pattern: "^/[A-Za-z0-9/_-]+$", default: "/nats/metrics", description: "the metrics path on the gateway port" }),
  },
  { additionalProperties: false, default: {} },
);

export const WakeSchema = Type.Object(
  {
    maxHops: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 4,
      description: "agent → agent hops a message may take (OpenClaw-Hops header); past it the send is refused, so agents cannot wake each other forever",
    }),
    urgentTurnsPerMinute: Type.Integer({
      minimum: 1,
      maximum: 600,
      // 30: the storm (30 urgent messages for one agent in a minute) never waits on this guard even
      // if no message rides another's turn; a loop or flood beyond that is coalesced instead of taking turns.
      default: 30,
      description: "wake turns one agent may start per minute; past it, urgent wakes are coalesced into one turn at the end of the window (counted in status)",
    }),
    turnTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 300_000, description: "how long one wake turn may run before the next may start" }),
    maxQueuedPerSession: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: "messages that may wait for their hand-off to one session; past it a message is refused and dead-lettered with the reason",
    }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 256,
      description: "core-NATS wake messages handled at once by this gateway; past it a message is refused (error reply, dead letter) instead of queued",
    }),
    newSessionsPerSenderPerMinute: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 30,
      description: "sessions the host has no row for that one sender (verified key, else `from`) may open per minute; past it the message is refused and dead-lettered",
    }),
    newSessionsPerMinute: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 300,
      description: "sessions the host has no row for that all senders together may open per minute; past it the message is refused and dead-lettered",
    }),
  },
  { additionalProperties: false, default: {} },
);

