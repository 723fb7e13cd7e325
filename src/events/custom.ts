import { isAgentId, isSessionKey, agentOfSessionKey } from "../shared/session-key.ts";
import type { Visibility } from "./envelope.ts";
import type { EventStore } from "./store.ts";

/**
 * Custom events: other plugins, agents (through the CLI) and operators record `custom.<name>` events
 * through the same spool as the gateway's own events, so they are never lost while NATS is down and
 * land in the documented envelope on `{prefix}.{agent}.custom_<name>`.
 *
 * Entry points: the gateway method `nats.events.record`, `openclaw nats events record`, and the
 * process-wide handle below for plugins in the same gateway process.
 */

/** `custom.` + this: letters, digits, `_`, `-`, dot-separated segments (dots become `_` in the subject). */
export const CUSTOM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
export const CUSTOM_NAME_MAX = 64;
/** The JSON payload's size bound: events are context, not file storage (and must fit the server's max_payload). */
export const CUSTOM_PAYLOAD_MAX_BYTES = 64 * 1024;
const VISIBILITIES: readonly Visibility[] = ["public", "internal", "private"];

export interface CustomEventInput {
  agent: string;
  name: string;
  payload?: Record<string, unknown>;
  session?: string;
  visibility?: Visibility;
}

export type CustomEventResult = { ok: true; id: string; type: string } | { ok: false; error: string };

type Valid = { ok: true; value: Required<Pick<CustomEventInput, "agent" | "name" | "payload">> & Pick<CustomEventInput, "session" | "visibility"> } | { ok: false; error: string };

/** Checks untrusted input (gateway params, another plugin's call); the error names the field and the rule. */
export function validateCustomEvent(input: unknown): Valid {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, error: "params must be an object {agent, name, payload?, session?, visibility?}" };
  const p = input as Record<string, unknown>;
  const known = new Set(["agent", "name", "payload", "session", "visibility"]);
  const extra = Object.keys(p).filter((k) => !known.has(k));
  if (extra.length > 0) return { ok: false, error: `unknown field(s): ${extra.join(", ")} (allowed: agent, name, payload, session, visibility)` };
  if (typeof p.agent !== "string" || !isAgentId(p.agent)) return { ok: false, error: "agent must be an agent id (lowercase letters, digits, _ or -, at most 64)" };
  if (typeof p.name !== "string" || p.name.length > CUSTOM_NAME_MAX || !CUSTOM_NAME_PATTERN.test(p.name)) {
    return { ok: false, error: `name must be ${CUSTOM_NAME_MAX} characters at most of letters, digits, _ or -, in dot-separated parts (e.g. "deploy.done"); the event type is custom.<name>` };
  }
  let payload: Record<string, unknown> = {};
  if (p.payload !== undefined) {
    if (typeof p.payload !== "object" || p.payload === null || Array.isArray(p.payload)) return { ok: false, error: "payload must be a JSON object" };
    let size: number;
    try {
      size = Buffer.byteLength(JSON.stringify(p.payload));
    } catch {
      return { ok: false, error: "payload must be JSON-serialisable" };
    }
    if (size > CUSTOM_PAYLOAD_MAX_BYTES) return { ok: false, error: `payload is ${size} bytes as JSON, over the ${CUSTOM_PAYLOAD_MAX_BYTES}-byte limit for custom events` };
    payload = p.payload as Record<string, unknown>;
  }
  if (p.session !== undefined) {
    if (typeof p.session !== "string" || !isSessionKey(p.session)) return { ok: false, error: "session must be a session key agent:<agentId>:<rest>" };
    if (agentOfSessionKey(p.session) !== p.agent) return { ok: false, error: `session ${p.session} belongs to agent ${agentOfSessionKey(p.session)}, not ${p.agent}` };
  }
  if (p.visibility !== undefined && !VISIBILITIES.includes(p.visibility as Visibility)) return { ok: false, error: `visibility must be one of ${VISIBILITIES.join(", ")}` };
  return {
    ok: true,
    value: { agent: p.agent, name: p.name, payload, ...(p.session ? { session: p.session as string } : {}), ...(p.visibility ? { visibility: p.visibility as Visibility } : {}) },
  };
}

/** Validates and records through the store's spool. */
export function recordCustomEvent(store: EventStore, input: unknown): CustomEventResult {
  const v = validateCustomEvent(input);
  if (!v.ok) return v;
  const type = `custom.${v.value.name}`;
  const id = store.record({ agent: v.value.agent, type, session: v.value.session, visibility: v.value.visibility, payload: v.value.payload });
  if (!id) return { ok: false, error: `event ${type} was not recorded (filtered by events.allow/block, or the spool is unavailable: see openclaw nats status)` };
  return { ok: true, id, type };
}

/** What another plugin in the same gateway process finds at `globalThis[Symbol.for("openclaw-nats.events")]`. */
export interface NatsEventsHandle {
  readonly version: 1;
  recordCustom(input: CustomEventInput): CustomEventResult;
}

export const EVENTS_HANDLE = Symbol.for("openclaw-nats.events");
type HandleSlot = { [EVENTS_HANDLE]?: NatsEventsHandle };

/** Publishes the handle while the runtime runs; returns the function that withdraws it (only if still ours). */
export function publishEventsHandle(store: EventStore, log: { warn: (m: string) => void }): () => void {
  const handle: NatsEventsHandle = {
    version: 1,
    recordCustom(input) {
      const res = recordCustomEvent(store, input);
      if (!res.ok) log.warn(`events: custom event refused: ${res.error}`);
      return res;
    },
  };
  const slot = globalThis as HandleSlot;
  slot[EVENTS_HANDLE] = handle;
  return () => {
    if (slot[EVENTS_HANDLE] === handle) delete slot[EVENTS_HANDLE];
  };
}
