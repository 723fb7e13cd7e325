import { Type } from "typebox";
import { AGENT_ID_PATTERN } from "../../shared/session-key.ts";
import { CredentialsSchema } from "./connection.ts";
import { AgentId, JS_NAME_PATTERN, Placement, Replicas, Subject, subject, Url } from "./primitives.ts";

// The event store and memory read back from it: what is recorded where, and what a session is given.

export const AgentStreamSchema = Type.Object(
  {
    url: Type.Optional(Url),
    credentials: Type.Optional(CredentialsSchema),
    streamName: Type.Optional(Type.String({ description: "this agent's own stream (on the default server it needs its own subjectPrefix too)", minLength: 1, pattern: JS_NAME_PATTERN })),
    subjectPrefix: Type.Optional(subject("this agent's own subject prefix")),
  },
  { additionalProperties: false },
);

export const EventsSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: "the event store", default: true }),
    subjectPrefix: Type.String({ description: "events go to <subjectPrefix>.<agent>.<type>", minLength: 1, pattern: "^[^\\s*>]+$", default: "openclaw.events" }),
    streamName: Type.String({ description: "the events stream", minLength: 1, pattern: JS_NAME_PATTERN, default: "openclaw-events" }),
    duplicateWindowMs: Type.Integer({ description: "JetStream dedup window (never longer than maxAgeHours)", minimum: 1000, default: 120_000 }),
    replicas: Type.Optional(Replicas),
    placement: Type.Optional(Placement),
    retention: Type.Object(
      {
        maxMessages: Type.Integer({ description: "stream limit; -1 = unlimited", minimum: -1, default: -1 }),
        maxBytes: Type.Integer({ description: "stream limit; -1 = unlimited", minimum: -1, default: -1 }),
        maxAgeHours: Type.Number({ minimum: 0, default: 0, description: "0 = forever" }),
      },
      { additionalProperties: false, default: {} },
    ),
    capture: Type.Object(
      {
        llmContent: Type.Boolean({ description: "record prompt and completion text in LLM events", default: false }),
        messageContent: Type.Boolean({ description: "record message text in msg.*, turn.* and wake.in events", default: true }),
        toolContent: Type.Boolean({ default: false, description: "record tool parameters and results in tool.call / tool.result events" }),
        maxToolContentBytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384, description: "larger tool parameters or results are recorded as their size only" }),
      },
      { additionalProperties: false, default: {} },
    ),
    includeHooks: Type.Array(Type.String({ minLength: 1 }), { description: "record only these, by hook name (llm_input) or event type (llm.input); [] = all", default: [] }),
    excludeHooks: Type.Array(Type.String({ minLength: 1 }), { description: "never record these, by hook name or event type", default: [] }),
    allow: Type.Array(Subject, { description: "subject filters with wildcards; when set, only matching events are recorded", default: [] }),
    block: Type.Array(Subject, { description: "subject filters with wildcards; block wins over allow", default: [] }),
    spool: Type.Object(
      {
        maxBytes: Type.Integer({ description: "local spool bound; the oldest events are dropped (and counted) when full", minimum: 1024, default: 256 * 1024 * 1024 }),
        inFlight: Type.Integer({ description: "publish window: events awaiting their JetStream ack", minimum: 1, maximum: 10_000, default: 512 }),
      },
      { additionalProperties: false, default: {} },
    ),
    agents: Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), AgentStreamSchema, { description: "per-agent stream and connection: events.agents.<id>.{url,credentials,streamName,subjectPrefix}", default: {} }),
  },
  { additionalProperties: false, default: {} },
);

const scope = (options: { default?: "peer" } = {}) =>
  Type.Union([Type.Literal("peer"), Type.Literal("agent")], {
    ...options,
    description: '"peer": context and search from earlier sessions with the same peer/conversation (session key) only; "agent": from all of the agent\'s sessions',
  });
const EventType = Type.String({ minLength: 1, pattern: "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$" });

/** Per-agent memory overrides (`memory.agents.<id>`); unset fields fall back to the `memory.*` values. */
export const MemoryAgentSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: "per-agent override of memory.enabled" })),
    scope: Type.Optional(scope()),
    everyTurn: Type.Optional(Type.Boolean({ description: "per-agent override of memory.everyTurn" })),
    read: Type.Optional(Type.Array(AgentId, { description: "other agents' event subjects (agent tokens, e.g. a shared team token) this agent may read" })),
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
        maxResults: Type.Integer({ description: "results event_search returns at most", minimum: 1, maximum: 100, default: 10 }),
        corpus: Type.Boolean({ default: true, description: "also answer the host's memory_search (corpus supplement)" }),
      },
      { additionalProperties: false, default: {} },
    ),
    agents: Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), MemoryAgentSchema, { description: "per-agent overrides; unset fields fall back to the memory.* values", default: {} }),
  },
  { additionalProperties: false, default: {} },
);

