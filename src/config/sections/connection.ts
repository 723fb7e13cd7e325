import { Type } from "typebox";
import { JS_NAME_PATTERN, Placement, Replicas, Subject } from "./primitives.ts";

// How the gateway reaches NATS and what it does with what arrives: credentials, reconnects, the durable
// inbox, dead letters, and the nats tool's limits.

export const CredentialsSchema = Type.Object(
  {
    token: Type.Optional(Type.String({ description: "token auth (one kind of auth; secrets are never logged)", minLength: 1 })),
    user: Type.Optional(Type.String({ description: "user for user/password auth", minLength: 1 })),
    pass: Type.Optional(Type.String({ description: "password for user/password auth" })),
    nkeySeed: Type.Optional(Type.String({ pattern: "^SU[A-Z2-7]+$", description: "user nkey seed (SU…)" })),
    credsFile: Type.Optional(Type.String({ minLength: 1, description: "path to a .creds file (JWT + seed)" })),
  },
  { additionalProperties: false },
);

export const TlsSchema = Type.Object(
  {
    caFile: Type.Optional(Type.String({ description: "TLS CA file", minLength: 1 })),
    certFile: Type.Optional(Type.String({ description: "TLS client certificate (with keyFile)", minLength: 1 })),
    keyFile: Type.Optional(Type.String({ description: "TLS client key (with certFile)", minLength: 1 })),
  },
  { additionalProperties: false },
);

export const ReconnectSchema = Type.Object(
  {
    maxAttempts: Type.Integer({ minimum: -1, default: -1, description: "-1 = forever" }),
    delayMs: Type.Integer({ description: "first reconnect backoff; doubles up to maxDelayMs, +20 % jitter", minimum: 10, default: 1000 }),
    maxDelayMs: Type.Integer({ description: "largest reconnect backoff", minimum: 10, default: 30_000 }),
  },
  { additionalProperties: false, default: {} },
);

export const InboxSchema = Type.Object(
  {
    durable: Type.Boolean({ default: false, description: "keep inbox messages in JetStream while the gateway is down" }),
    streamName: Type.String({ description: "durable inbox stream (work queue over subjects, broadcast subjects excluded)", minLength: 1, pattern: JS_NAME_PATTERN, default: "OPENCLAW_INBOX" }),
    consumerName: Type.String({ description: "durable consumers are <consumerName>-<agentId> per hosted agent, and <consumerName> for subjects that name no agent", minLength: 1, pattern: JS_NAME_PATTERN, default: "openclaw-gateway" }),
    maxAgeHours: Type.Number({ minimum: 0, default: 168, description: "0 = keep until acked" }),
    ackWaitMs: Type.Integer({ description: "redelivery wait of an unacked inbox message (a message in work is kept alive)", minimum: 1000, default: 30_000 }),
    maxDeliver: Type.Integer({ minimum: -1, default: 10, description: "deliveries before a message goes to the dead-letter stream; -1 = forever" }),
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 256, default: 8, description: "inbox messages handled at once (a long relay turn does not hold up the rest)" }),
    replicas: Type.Optional(Replicas),
    placement: Type.Optional(Placement),
  },
  { additionalProperties: false, default: {} },
);

export const DeadLetterStreamSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: "keep dead-letter copies in a bounded JetStream stream (when the server has JetStream)" }),
    name: Type.String({ description: "the dead-letter stream", minLength: 1, pattern: JS_NAME_PATTERN, default: "OPENCLAW_DLQ" }),
    maxAgeHours: Type.Number({ minimum: 0, default: 168, description: "0 = no age limit" }),
    maxMessages: Type.Integer({ description: "dead-letter copies kept; the oldest go first", minimum: 1, default: 10_000 }),
    maxBytes: Type.Integer({ description: "bytes of dead-letter copies kept; the oldest go first", minimum: 1024, default: 64 * 1024 * 1024 }),
    replicas: Type.Optional(Replicas),
    placement: Type.Optional(Placement),
  },
  { additionalProperties: false, default: {} },
);

export const ToolSchema = Type.Object(
  {
    allowedSubjects: Type.Array(Subject, { description: "what the nats tool may publish to", default: ["agent.*.inbox", "system.>"] }),
    defaultTimeoutMs: Type.Integer({ description: "nats tool request timeout", minimum: 1, maximum: 600_000, default: 5000 }),
  },
  { additionalProperties: false, default: {} },
);

