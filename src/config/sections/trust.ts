import { Type } from "typebox";
import { AGENT_ID_PATTERN } from "../../shared/session-key.ts";

// Who may make an agent take a turn: relay callers and tokens, this gateway's signing identity, and the
// agent protocol's registration.

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
    path: Type.String({ description: "HTTP path of POST /notify on the gateway's own server", pattern: "^/[A-Za-z0-9/_-]*$", default: "/notify" }),
    allowedTargets: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 })), {
        description: "{\"<caller>\": [\"agent:broker:*\", …]}: session keys each caller may target; unset = all allowed; a caller without an entry is refused when set",
      }),
    ),
    timeoutMs: Type.Integer({ description: "how long a relayed turn may take (also agent-protocol prompts)", minimum: 1000, maximum: 3_600_000, default: 120_000 }),
    maxTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 600_000, description: "largest timeoutMs a caller may ask for" }),
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 1000, default: 8, description: "relay turns running at once in this gateway" }),
    maxConcurrentPerSession: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: "relay turns running at once in one target session" }),
    trustUnsignedCallers: Type.Boolean({ default: false, description: "let NATS callers without a trusted signature have turns (expectReply / deliver)" }),
    callers: Type.Record(CallerId, RelayCallerSchema, { description: "trusted signers: relay.callers.<caller>.publicKey (user NKEY U…) authenticates caller <caller> by its Agent-Sender signature; with agents, a gateway key that speaks for those agents", default: {} }),
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
    heartbeatIntervalS: Type.Integer({ description: "heartbeat cadence", minimum: 1, maximum: 3600, default: 30 }),
    keepAliveS: Type.Integer({ minimum: 1, maximum: 30, default: 20, description: "send a status ack after this many quiet seconds during a turn" }),
    maxPayload: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*(B|KB|MB|GB)$", description: "largest prompt request advertised and accepted; default and ceiling: the server's max_payload" })),
    minSenderTrust: Type.Union([Type.Literal("any"), Type.Literal("signed")], { default: "any", description: "signed: serve only prompts with a valid Agent-Sender signature (spec §13)" }),
  },
  { additionalProperties: false, default: {} },
);

