import { Type, type Static, type TSchema } from "typebox";
import { schemaProblems } from "../shared/schema-problems.ts";
import { SESSION_KEY_MAX_LENGTH, SESSION_KEY_PATTERN } from "../shared/session-key.ts";

const fields = {
  sessionKey: Type.String({ pattern: SESSION_KEY_PATTERN, maxLength: SESSION_KEY_MAX_LENGTH, description: "target session, e.g. agent:support:telegram:direct:123456" }),
  message: Type.String({ minLength: 1, description: "what the target agent sees as the next user message" }),
  channel: Type.Optional(Type.String({ minLength: 1, description: "only the session's current channel is accepted (see docs/relay.md)" })),
  to: Type.Optional(Type.String({ minLength: 1, description: "only the session's current recipient is accepted (see docs/relay.md)" })),
};

/** notify_agent tool parameters. */
export const NotifyParameters = Type.Object(fields, { additionalProperties: false });
export type NotifyParams = Static<typeof NotifyParameters>;

/** POST /notify body: the tool's fields plus `from`, which asks for a `[from …]` frame and must name the token's owner. */
export const HttpNotifyBody = Type.Object(
  { ...fields, from: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "the token's caller; when given, the message is framed [from <caller>]" })) },
  { additionalProperties: false },
);
export type HttpNotifyRequest = Static<typeof HttpNotifyBody>;

const HINTS: Record<string, string> = {
  sessionKey: "must look like agent:<agentId>:<rest>",
  message: "must be a non-empty string",
};

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validate against a typebox object schema; the error names each bad, missing or unknown field. */
export function checkFields<S extends TSchema>(schema: S, raw: unknown): Checked<Static<S>> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: "body must be a JSON object" };
  const problems = schemaProblems(schema, raw, HINTS);
  if (problems.length > 0) return { ok: false, error: problems.join("; ") };
  return { ok: true, value: raw as Static<S> };
}
