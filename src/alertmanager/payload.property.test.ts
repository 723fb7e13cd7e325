import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { alert, payload } from "../../test/fixtures/alertmanager-payload.ts";
import { parseWebhookPayload } from "./payload.ts";

// Webhook bodies come from whatever reaches alertmanager.path with the token. parseWebhookPayload must
// never throw: an accepted payload has every field the receiver reads, a refusal says what was wrong.
const RUNS = 1_000;

const labels = fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue()), { maxKeys: 3 });
const anyAlert = fc.record(
  {
    status: fc.oneof(fc.constantFrom("firing", "resolved"), fc.jsonValue()),
    labels,
    annotations: labels,
    startsAt: fc.oneof(fc.constant("2026-09-01T10:00:00Z"), fc.jsonValue()),
    endsAt: fc.oneof(fc.constant("0001-01-01T00:00:00Z"), fc.jsonValue()),
    generatorURL: fc.oneof(fc.string(), fc.jsonValue()),
    fingerprint: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

/** A valid payload with one field replaced (or removed) by anything, or an alert replaced by a near one. */
const mutated = fc.tuple(fc.nat({ max: 20 }), fc.constantFrom("version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts", "constructor"), fc.option(fc.jsonValue(), { nil: undefined }), fc.array(anyAlert, { maxLength: 2 })).map(([n, key, value, extra]) => {
  const p: Record<string, unknown> = { ...payload([alert(`A${n}`), alert("B", { status: "resolved" })]) };
  if (n % 3 === 0) p.alerts = [...(p.alerts as unknown[]), ...extra];
  else if (value === undefined) delete p[key];
  else p[key] = value;
  return JSON.stringify(p);
});

test("property: parseWebhookPayload never throws; a complete v4 payload or a non-empty error", (t) => {
  let cases = 0;
  let accepted = 0;
  const check = (text: string): void => {
    cases++;
    const r = parseWebhookPayload(text);
    if (!r.ok) return assert.ok(typeof r.error === "string" && r.error.trim().length > 0);
    accepted++;
    const p = r.payload;
    assert.equal(p.version, "4");
    assert.ok(p.alerts.length >= 1 && typeof p.groupKey === "string" && p.groupKey.length > 0);
    for (const a of p.alerts) {
      assert.ok(a.status === "firing" || a.status === "resolved");
      assert.ok(typeof a.fingerprint === "string" && a.fingerprint.length >= 1 && a.fingerprint.length <= 128);
      for (const v of [...Object.values(a.labels), ...Object.values(a.annotations)]) assert.equal(typeof v, "string");
    }
  };
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), check), { numRuns: RUNS });
  fc.assert(fc.property(fc.jsonValue(), (v) => check(JSON.stringify(v) ?? "null")), { numRuns: RUNS });
  fc.assert(fc.property(mutated, check), { numRuns: RUNS });
  fc.assert(fc.property(mutated, fc.nat(), (s, cut) => check(`{"__proto__":{"polluted":1},${s.slice(1, 1 + (cut % s.length))}`)), { numRuns: RUNS });
  t.diagnostic(`parseWebhookPayload: ${cases} cases (${accepted} accepted)`);
  assert.equal(cases, 4 * RUNS);
  assert.ok(accepted > 0 && accepted < cases);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype pollution");
});
