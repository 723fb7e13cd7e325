import { Type, type Static } from "typebox";
import { Compile } from "typebox/compile";
import { schemaProblems } from "../shared/schema-problems.ts";

const Labels = Type.Record(Type.String(), Type.String());

/**
 * One alert of an Alertmanager webhook notification (version 4). Extra fields are allowed: newer
 * Alertmanager releases add some, and refusing them would make every notification fail.
 */
export const WebhookAlertSchema = Type.Object({
  status: Type.Union([Type.Literal("firing"), Type.Literal("resolved")]),
  labels: Labels,
  annotations: Labels,
  startsAt: Type.String({ minLength: 1 }),
  endsAt: Type.String(),
  generatorURL: Type.String(),
  fingerprint: Type.String({ minLength: 1, maxLength: 128 }),
});

export const WebhookPayloadSchema = Type.Object({
  version: Type.Literal("4"),
  groupKey: Type.String({ minLength: 1, maxLength: 8192 }),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  status: Type.Union([Type.Literal("firing"), Type.Literal("resolved")]),
  receiver: Type.String({ minLength: 1, maxLength: 1024 }),
  groupLabels: Labels,
  commonLabels: Labels,
  commonAnnotations: Labels,
  externalURL: Type.String(),
  alerts: Type.Array(WebhookAlertSchema, { minItems: 1 }),
});

export type WebhookAlert = Static<typeof WebhookAlertSchema>;
export type WebhookPayload = Static<typeof WebhookPayloadSchema>;

const isPayload = Compile(WebhookPayloadSchema);

const HINTS: Record<string, string> = {
  version: 'must be "4" (Alertmanager webhook payload version 4)',
  status: "must be firing or resolved",
};

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function forbiddenKey(value: unknown, path: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) return here;
    const inner = forbiddenKey((value as Record<string, unknown>)[key], here);
    if (inner) return inner;
  }
  return undefined;
}

export type PayloadResult = { ok: true; payload: WebhookPayload } | { ok: false; error: string };

/** Decode and validate one webhook body. Never throws; a rejection names what was wrong. */
export function parseWebhookPayload(text: string): PayloadResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: "payload must be a JSON object" };
  const bad = forbiddenKey(raw, "");
  if (bad) return { ok: false, error: `forbidden key "${bad}"` };
  if (isPayload.Check(raw)) return { ok: true, payload: raw as WebhookPayload };
  const problems = schemaProblems(WebhookPayloadSchema, raw, HINTS);
  return { ok: false, error: `not an Alertmanager webhook v4 payload: ${problems.slice(0, 5).join("; ")}` };
}
