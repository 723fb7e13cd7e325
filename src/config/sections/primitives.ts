import { Type } from "typebox";
import { AGENT_ID_PATTERN } from "../../shared/session-key.ts";

// Building blocks the config sections share, so one pattern means one thing everywhere.

export const NATS_URL_PATTERN = "^(nats|tls|ws|wss)://[^\\s]+$";
const SUBJECT_PATTERN = "^[^\\s]+$";

export const Subject = Type.String({ minLength: 1, pattern: SUBJECT_PATTERN });
/** A subject with its own description (the generated docs/configuration.md shows it). */
export const subject = (description: string) => Type.String({ minLength: 1, pattern: SUBJECT_PATTERN, description });
export const Url = Type.String({ pattern: NATS_URL_PATTERN, description: "nats://, tls://, ws:// or wss:// URL; several may be comma-separated" });
export const AgentId = Type.String({ pattern: AGENT_ID_PATTERN });
/** A JetStream stream or consumer name: no subject tokens or wildcards. */
export const JS_NAME_PATTERN = "^[^.*>\\s]+$";
export const PriorityValue = Type.Union([Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")]);

/** How many copies a JetStream stream keeps across a cluster (a single server holds one). */
export const Replicas = Type.Integer({ minimum: 1, maximum: 5, description: "copies of the stream on a NATS cluster (3 or 5 survive node losses); unset: R1 when created, an existing stream's count is left as it is" });
/** Where in a (super)cluster a stream's replicas are placed; passed through to the stream config. */
export const Placement = Type.Object(
  {
    cluster: Type.Optional(Type.String({ minLength: 1, pattern: "^[^\\s]+$", description: "the cluster (of a supercluster) that holds the stream's replicas" })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, pattern: "^[^\\s,]+$" }), { maxItems: 16, description: "server tags every replica's server must have (server_tags in nats-server.conf)" })),
  },
  { additionalProperties: false, description: "where on a cluster the stream's replicas go (passed through to the stream config)" },
);
