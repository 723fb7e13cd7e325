import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { childSpan, continueTrace, MAX_TRACESTATE_CHARS, MAX_TRACESTATE_MEMBERS, parseTracestate, readTrace, traceHeaders, traceparentProblem } from "./context.ts";

// Trace headers are whatever a sender wrote. readTrace must never throw; what it keeps follows the
// W3C rules, what it drops comes with a reason; and a kept trace continues under the same trace id.
const RUNS = 1_000;
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const V00 = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const headersOf = (tp?: string, ts?: string) => (name: string) => (name === "traceparent" ? tp : name === "tracestate" ? ts : undefined);

test("valid version-00 traceparents are kept and continued under the same trace id", () => {
  fc.assert(
    fc.property(hex(32).filter((t) => !/^0+$/.test(t)), hex(16).filter((s) => !/^0+$/.test(s)), hex(2), (traceId, spanId, flags) => {
      const tp = `00-${traceId}-${spanId}-${flags}`;
      const r = readTrace(headersOf(tp));
      assert.deepEqual(r, { trace: { traceId, spanId, traceFlags: flags }, dropped: [] });
      const mine = continueTrace(r.trace);
      assert.equal(mine.traceId, traceId);
      assert.equal(mine.parentSpanId, spanId);
      assert.notEqual(mine.spanId, spanId);
      assert.equal(mine.traceFlags, flags);
      const out = traceHeaders(childSpan(mine)).traceparent;
      assert.match(out, V00);
      assert.ok(out.startsWith(`00-${traceId}-`) && out.endsWith(`-${flags}`));
    }),
    { numRuns: RUNS },
  );
});

test("arbitrary header values: never a throw; kept means valid, dropped means a reason", () => {
  const anyTp = fc.oneof(fc.string({ maxLength: 140 }), fc.constantFrom("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  fc.assert(
    fc.property(fc.option(anyTp, { nil: undefined }), fc.option(fc.string({ maxLength: 600 }), { nil: undefined }), (tp, ts) => {
      const r = readTrace(headersOf(tp, ts));
      for (const reason of r.dropped) assert.ok(reason.length > 0 && reason.length < 200, reason);
      if (!r.trace) {
        if (tp?.trim() || ts) assert.ok(r.dropped.length > 0, `dropped ${JSON.stringify(tp)} ${JSON.stringify(ts)} without a reason`);
        return;
      }
      assert.equal(traceparentProblem(tp!.trim()), undefined);
      assert.ok(!/^0+$/.test(r.trace.traceId) && !/^0+$/.test(r.trace.spanId));
      if (r.trace.tracestate !== undefined) assert.deepEqual(parseTracestate(r.trace.tracestate), { ok: true, tracestate: r.trace.tracestate });
    }),
    { numRuns: RUNS },
  );
});

const key = fc.stringMatching(/^[a-z][a-z0-9_*/-]{0,15}$/);
const value = fc.stringMatching(/^[!-+\--<>-~]{1,20}$/);

test("tracestate: valid lists are kept in order; over the W3C bounds, duplicated or malformed ones are dropped", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, minLength: 1, maxLength: 40 }), (members) => {
      const text = members.map(([k, v]) => `${k}=${v}`).join(" , ");
      const r = parseTracestate(text);
      const canonical = members.map(([k, v]) => `${k}=${v}`).join(",");
      if (members.length > MAX_TRACESTATE_MEMBERS || text.length > MAX_TRACESTATE_CHARS) assert.equal(r.ok, false);
      else assert.deepEqual(r, { ok: true, tracestate: canonical });
      const dup = parseTracestate(`${canonical},${members[0][0]}=x`);
      if (canonical.length + members[0][0].length + 3 <= MAX_TRACESTATE_CHARS && members.length < MAX_TRACESTATE_MEMBERS) assert.deepEqual(dup.ok, false);
    }),
    { numRuns: RUNS },
  );
  for (const bad of ["novalue", "Upper=1", "k=v,=x", "k=a=b", "k=v\u0001", "k=v,"+"x".repeat(600)]) assert.equal(parseTracestate(bad).ok, false, bad);
  assert.deepEqual(parseTracestate("tenant@sys=1,a=2"), { ok: true, tracestate: "tenant@sys=1,a=2" });
});

test("no traceparent: a new trace; a tracestate alone is dropped with a reason", () => {
  const a = continueTrace(undefined);
  const b = continueTrace(undefined);
  assert.notEqual(a.traceId, b.traceId);
  assert.equal(a.parentSpanId, undefined);
  assert.match(traceHeaders(a).traceparent, V00);
  assert.deepEqual(readTrace(headersOf(undefined, "k=v")), { dropped: ["tracestate without traceparent"] });
  const r = readTrace(headersOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v,k=w"));
  assert.equal(r.trace?.tracestate, undefined);
  assert.match(r.dropped[0], /appears twice/);
});
