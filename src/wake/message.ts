import { Type, type Static } from "typebox";
import { Compile } from "typebox/compile";
import { schemaProblems } from "../shared/schema-problems.ts";
import { AGENT_ID_PATTERN, SESSION_KEY_MAX_LENGTH, SESSION_KEY_PATTERN } from "../shared/session-key.ts";

export const PRIORITIES = ["urgent", "normal", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];
export const PrioritySchema = Type.Union([Type.Literal("urgent"), Type.Literal("normal"), Type.Literal("low")]);

/** The wire format of a wake message (seed nats-wake), plus the relay's `deliver` / `expectReply`. */
export const WakeMessageSchema = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 256 }),
    body: Type.String({ minLength: 1 }),
    to: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN })),
    sessionKey: Type.Optional(Type.String({ pattern: SESSION_KEY_PATTERN, maxLength: SESSION_KEY_MAX_LENGTH })),
    priority: Type.Optional(PrioritySchema),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    deliver: Type.Optional(Type.Boolean()),
    expectReply: Type.Optional(Type.Boolean()),
    channel: Type.Optional(Type.String({ minLength: 1 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
export type WakeMessage = Static<typeof WakeMessageSchema>;
/** Compiled once: the valid-message path costs well under a microsecond; errors are described only on failure. */
const isWakeMessage = Compile(WakeMessageSchema);

export type ParseResult = { ok: true; message: WakeMessage } | { ok: false; reason: string };

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function forbiddenKey(value: unknown, path: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return path ? `${path}.${key}` : key;
    const inner = forbiddenKey((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (inner) return inner;
  }
  return undefined;
}

const FIELD_HINTS: Record<string, string> = {
  to: "must be an agent id (lowercase letters, digits, _ or -; no dots, wildcards or spaces)",
  sessionKey: "must look like agent:<agentId>:<rest>",
  priority: `must be one of ${PRIORITIES.join(", ")}`,
};

/** Decode and validate one wake message. Never throws; a rejection says what was wrong. */
export function parseWakeMessage(data: Uint8Array, maxBodyBytes: number): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: "message must be a JSON object" };
  }
  const bad = forbiddenKey(raw, "");
  if (bad) return { ok: false, reason: `forbidden key "${bad}"` };
  const problems = isWakeMessage.Check(raw) ? [] : schemaProblems(WakeMessageSchema, raw, FIELD_HINTS);
  if (problems.length > 0) return { ok: false, reason: problems.join("; ") };
  const message = raw as WakeMessage;
  const bodyBytes = Buffer.byteLength(message.body, "utf8");
  if (bodyBytes > maxBodyBytes) return { ok: false, reason: `body is ${bodyBytes} bytes, over maxBodyBytes ${maxBodyBytes}` };
  return { ok: true, message };
}
