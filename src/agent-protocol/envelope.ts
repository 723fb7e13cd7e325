import { CALLER_ID_PATTERN } from "../config/schema.ts";
import { isSessionKey } from "../shared/session-key.ts";

/** A prompt request after §5.3: the text, and our one extension. */
export interface PromptEnvelope {
  prompt: string;
  /**
   * Extension `{"openclaw": {"sessionKey": "agent:…"}}`: run the turn in that existing session instead of
   * the caller's own (only for callers relay.allowedTargets permits it).
   */
  sessionKey?: string;
  /**
   * Extension `{"openclaw": {"from": "<caller id>"}}`: who is asking. A claim, unless the request is signed
   * (the payload is covered by the signature): a gateway key listed in relay.callers signs for the agent
   * named here, as in a wake message's `from`.
   */
  from?: string;
}

export type EnvelopeResult = { ok: true; envelope: PromptEnvelope } | { ok: false; error: string };

/** Our namespace inside the envelope; unknown top-level fields are the spec's to define (§5.6). */
export const EXTENSION_FIELD = "openclaw";
const EXTENSION_KEYS = new Set(["sessionKey", "from"]);
const CALLER_ID = new RegExp(CALLER_ID_PATTERN);

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isWhitespace(byte: number): boolean {
  return byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x20;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * Decode a prompt request (spec §5.1–§5.3): a zero-byte payload is invalid; a payload whose first
 * non-whitespace byte is `{` must be a JSON object with a non-empty `prompt` string; anything else is the
 * prompt as UTF-8 text. Unknown top-level fields are tolerated. This endpoint advertises
 * `attachments_ok: false`, so a non-empty `attachments` array is refused (§5.1).
 */
export function parseEnvelope(data: Uint8Array): EnvelopeResult {
  if (data.length === 0) return { ok: false, error: "empty prompt: send plain text or {\"prompt\": \"…\"}" };
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, error: "the prompt is not valid UTF-8" };
  }
  let first = 0;
  while (first < data.length && isWhitespace(data[first])) first++;
  if (first === data.length) return { ok: false, error: "empty prompt: the payload is only whitespace" };
  if (data[first] !== 0x7b) {
    // Other Unicode blanks (vertical tab, NBSP, U+2028…) are no prompt either, as in the JSON form.
    if (text.trim().length === 0) return { ok: false, error: "empty prompt: the payload is only whitespace" };
    return { ok: true, envelope: { prompt: text } };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `the payload starts with '{' but is not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const obj = record(parsed);
  if (!obj) return { ok: false, error: "the JSON envelope must be an object" };
  if (typeof obj.prompt !== "string") return { ok: false, error: "the JSON envelope needs a \"prompt\" string" };
  if (obj.prompt.trim().length === 0) return { ok: false, error: "\"prompt\" must not be empty" };
  if (obj.attachments !== undefined) {
    if (!Array.isArray(obj.attachments)) return { ok: false, error: "\"attachments\" must be an array" };
    if (obj.attachments.length > 0) return { ok: false, error: "this agent does not accept attachments (attachments_ok is false)" };
  }
  const envelope: PromptEnvelope = { prompt: obj.prompt };
  const ext = obj[EXTENSION_FIELD];
  if (ext !== undefined) {
    const fields = record(ext);
    if (!fields) return { ok: false, error: `"${EXTENSION_FIELD}" must be an object` };
    const unknown = Object.keys(fields).filter((k) => !EXTENSION_KEYS.has(k));
    if (unknown.length > 0) return { ok: false, error: `unknown field ${unknown.map((k) => `${EXTENSION_FIELD}.${k}`).join(", ")}` };
    if (fields.sessionKey !== undefined) {
      if (typeof fields.sessionKey !== "string" || !isSessionKey(fields.sessionKey)) {
        return { ok: false, error: `${EXTENSION_FIELD}.sessionKey must be a session key like agent:<id>:<rest>` };
      }
      envelope.sessionKey = fields.sessionKey;
    }
    if (fields.from !== undefined) {
      if (typeof fields.from !== "string" || !CALLER_ID.test(fields.from)) return { ok: false, error: `${EXTENSION_FIELD}.from must be a caller id (letters, digits, . _ @ -; up to 64)` };
      envelope.from = fields.from;
    }
  }
  return { ok: true, envelope };
}
