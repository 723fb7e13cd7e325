import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isSessionKey, isAgentId } from "../shared/session-key.ts";
import { parseWakeMessage, PRIORITIES } from "./message.ts";
import { agentOfSubject } from "../shared/subjects.ts";
import { checkSubjectBinding, resolveTarget } from "./route.ts";

// A wake message is whatever a publisher on the bus wrote. parseWakeMessage must never throw, and
// every answer is either a message that satisfies the wire rules or a rejection that says why.
const RUNS = 1_000;
const MAX_BODY = 256;
const enc = new TextEncoder();

let accepted = 0;

function checkResult(data: Uint8Array): void {
  const r = parseWakeMessage(data, MAX_BODY); // a throw fails the property
  if (r.ok) accepted++;
  if (!r.ok) {
    assert.equal(typeof r.reason, "string");
    assert.ok(r.reason.trim().length > 0, "a rejection names what was wrong");
    return;
  }
  const m = r.message;
  assert.ok(typeof m.from === "string" && m.from.length >= 1 && m.from.length <= 256);
  assert.ok(typeof m.body === "string" && m.body.length >= 1 && Buffer.byteLength(m.body) <= MAX_BODY);
  if (m.to !== undefined) assert.ok(isAgentId(m.to), `to ${m.to}`);
  if (m.sessionKey !== undefined) assert.ok(isSessionKey(m.sessionKey), `sessionKey ${m.sessionKey}`);
  if (m.priority !== undefined) assert.ok((PRIORITIES as readonly string[]).includes(m.priority));
  const allowed = new Set(["from", "body", "to", "sessionKey", "priority", "metadata", "deliver", "expectReply", "channel", "timeoutMs"]);
  for (const k of Object.keys(m)) assert.ok(allowed.has(k), `unknown key ${k} accepted`);
}

/** Objects near the valid shape: each field either plausible or arbitrary, plus stray keys. */
const nearWake = fc.record(
  {
    from: fc.oneof(fc.string({ minLength: 1, maxLength: 300 }), fc.anything()),
    body: fc.oneof(fc.string({ unit: "grapheme", minLength: 0, maxLength: 300 }), fc.anything()),
    to: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/), fc.string(), fc.anything()),
    sessionKey: fc.oneof(fc.stringMatching(/^agent:[a-z0-9]{1,6}:\S{1,20}$/), fc.string(), fc.anything()),
    priority: fc.oneof(fc.constantFrom(...PRIORITIES), fc.string()),
    metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.anything()),
    deliver: fc.oneof(fc.boolean(), fc.anything()),
    timeoutMs: fc.oneof(fc.integer({ min: -5, max: 4_000_000 }), fc.double()),
    constructor: fc.jsonValue(),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

/** Messages that follow the rules (the accepted path must keep its promises too). */
const validWake = fc.record(
  {
    from: fc.string({ minLength: 1, maxLength: 256 }),
    body: fc.string({ unit: "grapheme", minLength: 1, maxLength: 120 }),
    to: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/),
    sessionKey: fc.stringMatching(/^agent:[a-z0-9]{1,6}:[!-~]{1,20}$/),
    priority: fc.constantFrom(...PRIORITIES),
    metadata: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.jsonValue()),
    expectReply: fc.boolean(),
    timeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
  },
  { requiredKeys: ["from", "body"] },
);

test("property: parseWakeMessage never throws; a valid message or a non-empty reason", (t) => {
  let cases = 0;
  const count = <T>(arb: fc.Arbitrary<T>, toBytes: (v: T) => Uint8Array) =>
    fc.property(arb, (v) => {
      cases++;
      checkResult(toBytes(v));
    });
  fc.assert(count(fc.uint8Array({ maxLength: 400 }), (b) => b), { numRuns: RUNS });
  fc.assert(count(fc.jsonValue(), (v) => enc.encode(JSON.stringify(v) ?? "null")), { numRuns: RUNS });
  fc.assert(count(fc.oneof(validWake, nearWake), (v) => enc.encode(JSON.stringify(v))), { numRuns: RUNS });
  // Raw text near JSON: the key "__proto__" as JSON.parse creates it (an own property), truncations.
  fc.assert(count(fc.tuple(nearWake, fc.nat()), ([v, cut]) => enc.encode(`{"__proto__":{"x":1},${JSON.stringify(v).slice(1)}`.slice(0, cut % 500))), { numRuns: RUNS });
  t.diagnostic(`parseWakeMessage: ${cases} cases (${accepted} accepted, ${cases - accepted} rejected with a reason)`);
  assert.equal(cases, 4 * RUNS);
  assert.ok(accepted > 0, "the generators reach the valid path too");
});

test("property: a subject-bound wake reaches the subject's agent only, whatever to/sessionKey say", (t) => {
  let cases = 0;
  let bound_ = 0;
  const subject = fc.oneof(
    fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,6}$/), fc.array(fc.stringMatching(/^[^.\s]{1,5}$/), { maxLength: 3 })).map(([a, rest]) => ["agent", a, ...rest, "inbox"].join(".")),
    fc.string({ maxLength: 40 }),
  );
  const msg = fc.record({ to: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,6}$/), sessionKey: fc.stringMatching(/^agent:[a-z0-9][a-z0-9_-]{0,6}:[a-z]{1,5}$/) }, { requiredKeys: [] });
  fc.assert(
    fc.property(subject, msg, (s, m) => {
      cases++;
      const why = checkSubjectBinding(m, s);
      const bound = agentOfSubject(s);
      if (bound !== undefined && why === undefined) bound_++;
      if (why !== undefined) {
        assert.ok(why.length > 0);
        return;
      }
      if (bound !== undefined) assert.equal(resolveTarget(m, "main", s).agentId, bound, "a bound subject routes to its agent");
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`checkSubjectBinding/resolveTarget: ${cases} cases (${bound_} bound and accepted)`);
  assert.ok(bound_ > 0);
  assert.equal(cases, RUNS);
});
