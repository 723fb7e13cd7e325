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
