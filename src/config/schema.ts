import { Type, type Static } from "typebox";
import { AGENT_ID_PATTERN, SESSION_KEY_MAX_LENGTH, SESSION_KEY_PATTERN } from "../shared/session-key.ts";

export { AGENT_ID_PATTERN };
const NATS_URL_PATTERN = "^(nats|tls|ws|wss)://[^\\s]+$";
const SUBJECT_PATTERN = "^[^\\s]+$";

const Subject = Type.String({ minLength: 1, pattern: SUBJECT_PATTERN });
const Url = Type.String({ pattern: NATS_URL_PATTERN, description: "nats://, tls://, ws:// or wss:// URL; several may be comma-separated" });

export const CredentialsSchema = Type.Object(
  {
    token: Type.Optional(Type.String({ minLength: 1 })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    pass: Type.Optional(Type.String()),
    nkeySeed: Type.Optional(Type.String({ pattern: "^SU[A-Z2-7]+$", description: "user nkey seed (SU…)" })),
    credsFile: Type.Optional(Type.String({ minLength: 1, description: "path to a .creds file (JWT + seed)" })),
  },
  { additionalProperties: false },
);

export const TlsSchema = Type.Object(
  {
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    certFile: Type.Optional(Type.String({ minLength: 1 })),
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const ReconnectSchema = Type.Object(
  {
    maxAttempts: Type.Integer({ minimum: -1, default: -1, description: "-1 = forever" }),
    delayMs: Type.Integer({ minimum: 10, default: 1000 }),
    maxDelayMs: Type.Integer({ minimum: 10, default: 30_000 }),
  },
  { additionalProperties: false, default: {} },
);

export const InboxSchema = Type.Object(
  {
    durable: Type.Boolean({ default: false, description: "keep inbox messages in JetStream while the gateway is down" }),
    streamName: Type.String({ minLength: 1, pattern: "^[^.*>\\s]+$", default: "OPENCLAW_INBOX" }),
    consumerName: Type.String({ minLength: 1, pattern: "^[^.*>\\s]+$", default: "openclaw-gateway" }),
    maxAgeHours: Type.Number({ minimum: 0, default: 168, description: "0 = keep until acked" }),
    ackWaitMs: Type.Integer({ minimum: 1000, default: 30_000 }),
    maxDeliver: Type.Integer({ minimum: -1, default: 10, description: "deliveries before a message goes to the dead-letter stream; -1 = forever" }),
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 256, default: 8, description: "inbox messages handled at once (a long relay turn does not hold up the rest)" }),
  },
  { additionalProperties: false, default: {} },
);

export const DeadLetterStreamSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: "keep dead-letter copies in a bounded JetStream stream (when the server has JetStream)" }),
    name: Type.String({ minLength: 1, pattern: "^[^.*>\\s]+$", default: "OPENCLAW_DLQ" }),
    maxAgeHours: Type.Number({ minimum: 0, default: 168, description: "0 = no age limit" }),
    maxMessages: Type.Integer({ minimum: 1, default: 10_000 }),
    maxBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
  },
  { additionalProperties: false, default: {} },
);

export const ToolSchema = Type.Object(
  {
    allowedSubjects: Type.Array(Subject, { default: ["agent.*.inbox", "system.>"] }),
    defaultTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 5000 }),
  },
  { additionalProperties: false, default: {} },
);

export const AgentStreamSchema = Type.Object(
  {
    url: Type.Optional(Url),
    credentials: Type.Optional(CredentialsSchema),
    streamName: Type.Optional(Type.String({ minLength: 1, pattern: "^[^.*>\\s]+$" })),
    subjectPrefix: Type.Optional(Subject),
  },
  { additionalProperties: false },
);

export const EventsSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    subjectPrefix: Type.String({ minLength: 1, pattern: "^[^\\s*>]+$", default: "openclaw.events" }),
    streamName: Type.String({ minLength: 1, pattern: "^[^.*>\\s]+$", default: "openclaw-events" }),
    duplicateWindowMs: Type.Integer({ minimum: 1000, default: 120_000 }),
    replicas: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
    retention: Type.Object(
      {
        maxMessages: Type.Integer({ minimum: -1, default: -1 }),
        maxBytes: Type.Integer({ minimum: -1, default: -1 }),
        maxAgeHours: Type.Number({ minimum: 0, default: 0, description: "0 = forever" }),
      },
      { additionalProperties: false, default: {} },
    ),
    capture: Type.Object(
      {
        llmContent: Type.Boolean({ default: false }),
        messageContent: Type.Boolean({ default: true }),
        toolContent: Type.Boolean({ default: false, description: "record tool parameters and results in tool.call / tool.result events" }),
        maxToolContentBytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384, description: "larger tool parameters or results are recorded as their size only" }),
      },
      { additionalProperties: false, default: {} },
    ),
    includeHooks: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    excludeHooks: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    allow: Type.Array(Subject, { default: [] }),
    block: Type.Array(Subject, { default: [] }),
    spool: Type.Object(
      {
        maxBytes: Type.Integer({ minimum: 1024, default: 256 * 1024 * 1024 }),
        inFlight: Type.Integer({ minimum: 1, maximum: 10_000, default: 512 }),
      },
      { additionalProperties: false, default: {} },
    ),
    agents: Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), AgentStreamSchema, { default: {} }),
  },
  { additionalProperties: false, default: {} },
);

const scope = (options: { default?: "peer" } = {}) =>
  Type.Union([Type.Literal("peer"), Type.Literal("agent")], {
    ...options,
    description: '"peer": context and search from earlier sessions with the same peer/conversation (session key) only; "agent": from all of the agent\'s sessions',
  });
const AgentId = Type.String({ pattern: AGENT_ID_PATTERN });
const EventType = Type.String({ minLength: 1, pattern: "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$" });

/** Per-agent memory overrides (`memory.agents.<id>`); unset fields fall back to the `memory.*` values. */
export const MemoryAgentSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    scope: Type.Optional(scope()),
    everyTurn: Type.Optional(Type.Boolean()),
    /** Other agents' event subjects (agent tokens, e.g. a shared "team" token) this agent may read. */
    read: Type.Optional(Type.Array(AgentId)),
  },
  { additionalProperties: false },
);

export const MemorySchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: "default: on when events.enabled is on" })),
    scope: scope({ default: "peer" }),
    lookbackHours: Type.Number({ minimum: 0, default: 720, description: "how far back the session-start block looks; 0 = no limit" }),
    maxEvents: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: "newest events the block is built from" }),
    maxChars: Type.Integer({ minimum: 500, maximum: 32_768, default: 4000, description: "size budget of the injected block" }),
    types: Type.Array(EventType, { default: ["msg.in", "msg.out", "turn.user", "turn.reply", "wake.in"], description: "event types memory reads (conversation)" }),
    notes: Type.Union([Type.Literal("private"), Type.Literal("always"), Type.Literal("never")], {
      default: "private",
      description: 'imported long-term notes (MEMORY.md) in the block: "private" = not in group/channel sessions',
    }),
    read: Type.Array(AgentId, { default: [], description: "agent tokens every agent may read besides its own (shared subjects)" }),
    everyTurn: Type.Boolean({ default: false, description: "inject on every turn, not only the first of a session" }),
    timeoutMs: Type.Integer({ minimum: 10, maximum: 10_000, default: 250, description: "a turn never waits longer than this for its block" }),
    search: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "the event_search tool" }),
        maxResults: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        corpus: Type.Boolean({ default: true, description: "also answer the host's memory_search (corpus supplement)" }),
      },
      { additionalProperties: false, default: {} },
    ),
    agents: Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), MemoryAgentSchema, { default: {} }),
  },
  { additionalProperties: false, default: {} },
);

/** Caller ids name relay callers and token owners; they show in `[from …]` frames and log lines. */
export const CALLER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$";
const CallerId = Type.String({ pattern: CALLER_ID_PATTERN });

export const RelayCallerSchema = Type.Object(
  {
    publicKey: Type.String({ pattern: "^U[A-Z2-7]{55}$", description: "the caller's user NKEY (U…); its Agent-Sender signatures authenticate it" }),
    agents: Type.Optional(
      Type.Array(Type.Union([Type.Literal("*"), Type.String({ pattern: AGENT_ID_PATTERN })]), {
        description: "a gateway key: the agents it may sign for (\"*\" = any); the caller is then the signed message's from",
      }),
    ),
  },
  { additionalProperties: false },
);

export const RelaySchema = Type.Object(
  {
    authToken: Type.Optional(Type.String({ minLength: 16, description: "bearer token for POST /notify (caller \"http\"); without it and relay.tokens the endpoint is off" })),
    tokens: Type.Optional(Type.Record(CallerId, Type.String({ minLength: 16 }), { description: "per-caller bearer tokens for POST /notify: {\"<caller>\": \"<token>\"}" })),
    path: Type.String({ pattern: "^/[A-Za-z0-9/_-]*$", default: "/notify" }),
    allowedTargets: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 })))),
    timeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 120_000 }),
    maxTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 600_000, description: "largest timeoutMs a caller may ask for" }),
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 1000, default: 8, description: "relay turns running at once in this gateway" }),
    maxConcurrentPerSession: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: "relay turns running at once in one target session" }),
    trustUnsignedCallers: Type.Boolean({ default: false, description: "let NATS callers without a trusted signature have turns (expectReply / deliver)" }),
    callers: Type.Record(CallerId, RelayCallerSchema, { default: {} }),
  },
  { additionalProperties: false, default: {} },
);

export const TrustSchema = Type.Object(
  {
    seedFile: Type.Optional(Type.String({ minLength: 1, description: "user seed (SU…, or a .creds file) this gateway signs with; created (mode 0600) when missing. Default <state dir>/plugins/nats/identity.nk" })),
    account: Type.String({ pattern: "^(A[A-Z2-7]{55}|[A-Za-z0-9_-]+|\\$G)$", default: "$G", description: "account label in the Agent-Sender headers this gateway signs; nothing is granted on it" }),
    replayWindowMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, description: "accepted clock skew of a signed header, and how long its nonce is remembered" }),
  },
  { additionalProperties: false, default: {} },
);

/** Subject tokens of the agent protocol (spec §2.2 SHOULD): 1-63 of a-z, 0-9, `-`, `_`. */
const PROTOCOL_TOKEN = "^[a-z0-9_-]{1,63}$";

export const AgentProtocolSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: "register the hosted agents as Synadia Agent Protocol v0.3 services" }),
    owner: Type.String({ pattern: PROTOCOL_TOKEN, default: "default", description: "the owner token: agents.prompt.oc.<owner>.<name>" }),
    agents: Type.Optional(Type.Array(Type.String({ pattern: AGENT_ID_PATTERN }), { description: "agent ids to register; default every agent this gateway hosts" })),
    names: Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), Type.String({ pattern: PROTOCOL_TOKEN }), { default: {}, description: "instance name per agent id (default: the agent id)" }),
    heartbeatIntervalS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
    keepAliveS: Type.Integer({ minimum: 1, maximum: 30, default: 20, description: "send a status ack after this many quiet seconds during a turn" }),
    maxPayload: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*(B|KB|MB|GB)$", description: "largest prompt request advertised and accepted; default and ceiling: the server's max_payload" })),
    minSenderTrust: Type.Union([Type.Literal("any"), Type.Literal("signed")], { default: "any", description: "signed: serve only prompts with a valid Agent-Sender signature (spec §13)" }),
  },
  { additionalProperties: false, default: {} },
);

const PriorityValue = Type.Union([Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")]);

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
    path: Type.String({ pattern: "^/[A-Za-z0-9/_-]*$", default: "/alertmanager" }),
    agent: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: "agent woken when no route matches; default: defaultAgent" })),
    routes: Type.Array(AlertmanagerRouteSchema, { default: [], description: "first match wins; a route names agent or sessionKey" }),
    severityLabel: Type.String({ minLength: 1, default: "severity" }),
    priorityLabel: Type.String({ minLength: 1, default: "openclaw_priority", description: "per-alert override: an alert with this label (urgent|normal|low) gets that priority" }),
    priorities: Type.Record(Type.String({ minLength: 1 }), PriorityValue, {
      default: { critical: "urgent", page: "urgent", error: "normal", warning: "normal", info: "low" },
      description: "severity label value → wake priority",
    }),
    defaultPriority: Type.Union([Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")], { default: "normal" }),
    resolvedPriority: Type.Union([Type.Literal("same"), Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")], {
      default: "same",
      description: "priority of the resolved note; same = the priority the group fired with",
    }),
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
    maxAlertsInText: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
    stateRetentionHours: Type.Number({ minimum: 1, default: 168, description: "forget a group this long after its last notification" }),
  },
  { additionalProperties: false, default: {} },
);

export const DashboardSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: "serve the dashboard (gateway auth) and offer it as a Control UI tab" }),
    path: Type.String({ pattern: "^/[A-Za-z0-9_-]+$", default: "/nats-dashboard" }),
    refreshMs: Type.Integer({ minimum: 1000, maximum: 60_000, default: 3000 }),
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
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    url: Type.String({ pattern: "^(nats|tls|ws|wss)://[^\\s]+$", default: "nats://127.0.0.1:4222" }),
    subjects: Type.Array(Subject, { default: ["agent.*.inbox"] }),
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
    defaultAgent: Type.String({ pattern: AGENT_ID_PATTERN, default: "main" }),
    agentName: Type.Optional(Type.String({ minLength: 1 })),
    maxBodyBytes: Type.Integer({ minimum: 1, default: 64 * 1024 }),
    deadLetterSubject: Type.String({ minLength: 1, pattern: "^[^\\s*>]+$", default: "openclaw.nats.dlq" }),
    deadLetterStream: DeadLetterStreamSchema,
    inbox: InboxSchema,
    tool: ToolSchema,
    events: EventsSchema,
    memory: MemorySchema,
    relay: RelaySchema,
    agentProtocol: AgentProtocolSchema,
    trust: TrustSchema,
    alertmanager: AlertmanagerSchema,
    dashboard: DashboardSchema,
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
export type DashboardConfig = Static<typeof DashboardSchema>;
