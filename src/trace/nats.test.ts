import { test } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import { buildEnvelope } from "../events/envelope.ts";
import { answerHeaders, envelopeTraceHeaders, headerGetter } from "./nats.ts";
import { SessionTraces } from "./sessions.ts";
import { continueTrace, traceHeaders } from "./context.ts";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("envelopeTraceHeaders: the envelope's own trace, never one a payload spells", () => {
  const traced = JSON.stringify(buildEnvelope({ agent: "a", type: "x", payload: { n: 1 }, trace: { traceparent: TP, tracestate: 'k=v"q' } }));
  assert.deepEqual(envelopeTraceHeaders(traced), { traceparent: TP, tracestate: 'k=v"q' });
  const spoof = JSON.stringify(buildEnvelope({ agent: "a", type: "x", payload: { trace: { traceparent: TP } } }));
  assert.ok(spoof.includes(`"trace":{"traceparent":"${TP}"`), "the payload holds the same text");
  assert.equal(envelopeTraceHeaders(spoof), undefined);
  const sneaky = JSON.stringify(buildEnvelope({ agent: 'a","trace":{"traceparent":"' + TP + '"}', type: "x", payload: {} }));
  assert.equal(envelopeTraceHeaders(sneaky), undefined);
});

test("headerGetter ignores header-name case; answerHeaders continue the trace or start one", () => {
  const h = headers();
  h.set("Traceparent", TP);
  assert.equal(headerGetter(h)("traceparent"), TP);
  assert.equal(headerGetter(undefined)("traceparent"), undefined);
  const answer = answerHeaders(h).get("traceparent");
  assert.match(answer, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(answer, TP);
  assert.match(answerHeaders(undefined).get("traceparent"), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});

test("SessionTraces: a session's trace covers the turn that began after it was set and its deliveries, not the next turn", () => {
  const t = new SessionTraces();
  const trace = continueTrace(undefined);
  t.set("agent:a:main", trace);
  assert.deepEqual(t.headers("agent:a:main"), traceHeaders(trace));
  assert.equal(t.outgoing("agent:a:main").traceId, trace.traceId);
  assert.notEqual(t.outgoing("agent:b:main").traceId, trace.traceId);
  t.runEnded("agent:a:main"); // a turn that was running before the message came: the trace stays
  assert.ok(t.get("agent:a:main"));
  t.runStarted("agent:a:main");
  t.runEnded("agent:a:main");
  assert.ok(t.get("agent:a:main"), "the ended turn's deliveries still carry it");
  t.runStarted("agent:a:main"); // the next turn is not the message's
  assert.equal(t.get("agent:a:main"), undefined);
});
