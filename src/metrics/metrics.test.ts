import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Reservoir } from "../shared/reservoir.ts";
import { REJECT_KINDS } from "../wake/dispatcher.ts";
import { TRUST_REFUSALS } from "../trust/trust.ts";
import { collectMetrics, type MetricsSources } from "./collect.ts";
import { checkFamily, escapeHelp, escapeLabelValue, render, type Family } from "./exposition.ts";
import { createMetricsHandler } from "./http.ts";

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  const lat = new Reservoir(8);
  lat.add(1500); // 1.5 ms
  lat.add(40_000); // 40 ms
  return {
    link: () => ({ connected: true, server: "nats://127.0.0.1:4222", connects: 1, disconnects: 2, reconnects: 1, lastError: "boom\n\"x\"" }),
    wake: () => ({ counts: { received: 5, injected: 3, rejected: 2, relayed: 0, hopLimited: 0 }, rejectedBy: { ...zeros(REJECT_KINDS), invalid: 2 }, handoffLatency: lat.buckets(), deadLetters: { published: 2, failed: 0 } }),
    trust: () => ({ ...zeros(TRUST_REFUSALS), replay: 1 }),
    ...over,
  };
}

test("names follow the conventions: prefix, _total counters, unit-suffixed histograms; bad names throw", async () => {
  const families = await collectMetrics(sources());
  for (const f of families) {
    assert.doesNotThrow(() => checkFamily(f), f.name);
    assert.ok(f.name.startsWith("openclaw_nats_"), f.name);
    if (f.type === "counter") assert.match(f.name, /_total$/);
    if (f.type === "histogram") assert.match(f.name, /_seconds$/);
  }
  assert.equal(new Set(families.map((f) => f.name)).size, families.length, "each family once");
  const bad = (f: Partial<Family>): void => assert.throws(() => checkFamily({ name: "openclaw_nats_x_total", help: "h", type: "counter", samples: [], ...f }), /MetricDefinitionError|must|names|label/);
  bad({ name: "nats_wakes_total" });
  bad({ name: "openclaw_nats_wakes" });
  bad({ name: "openclaw_nats_lat", type: "histogram" });
  bad({ name: "openclaw_nats_gauge_total", type: "gauge" });
  bad({ labels: { le: ["1"] } });
  bad({ labels: { "bad-name": ["1"] } });
});

test("the text: HELP/TYPE per family, counters by fixed reason with zeros written, histogram buckets cumulative with +Inf, _sum and _count", async () => {
  const { text, dropped } = render(await collectMetrics(sources()));
  assert.equal(dropped, 0);
  assert.match(text, /^# HELP openclaw_nats_wakes_handed_total .+\n# TYPE openclaw_nats_wakes_handed_total counter\nopenclaw_nats_wakes_handed_total 3$/m);
  assert.match(text, /^openclaw_nats_connected 1$/m);
  assert.match(text, /^openclaw_nats_wakes_rejected_total\{reason="invalid"\} 2$/m);
  assert.match(text, /^openclaw_nats_wakes_rejected_total\{reason="hop_limit"\} 0$/m);
  assert.match(text, /^openclaw_nats_trust_refusals_total\{reason="replay"\} 1$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_bucket\{le="0.001"\} 0$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_bucket\{le="0.0025"\} 1$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_bucket\{le="0.05"\} 2$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_sum 0.0415$/m);
  assert.match(text, /^openclaw_nats_wake_handoff_seconds_count 2$/m);
  assert.ok(text.endsWith("\n"));
  // Capabilities that are off write nothing (no event store, no agent protocol here).
  assert.doesNotMatch(text, /openclaw_nats_events_|openclaw_nats_agent_|openclaw_nats_inbox_/);
  // The connection's lastError and server URL are never in the output (they may carry anything).
  assert.doesNotMatch(text, /boom|127\.0\.0\.1/);
});

test("label bounds: a value outside the family's declared set (a sender-chosen string) is left out and counted, never written", () => {
  const f: Family = { name: "openclaw_nats_x_total", help: "x", type: "counter", labels: { reason: ["a", "b"] }, samples: [{ labels: { reason: "a" }, value: 1 }, { labels: { reason: "agent:main:attacker-chosen" }, value: 9 }, { labels: { other: "a" }, value: 3 }] };
  const { text, dropped } = render([f]);
  assert.equal(dropped, 2);
  assert.match(text, /openclaw_nats_x_total\{reason="a"\} 1/);
  assert.doesNotMatch(text, /attacker|other/);
});

test("escaping: label values escape backslash, quote and newline; HELP escapes backslash and newline", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp("line1\nline\\2"), "line1\\nline\\\\2");
  const { text } = render([{ name: "openclaw_nats_y", help: "two\nlines", type: "gauge", labels: { v: ['q"\\\n'] }, samples: [{ labels: { v: 'q"\\\n' }, value: 1 }] }]);
  assert.equal(text, '# HELP openclaw_nats_y two\\nlines\n# TYPE openclaw_nats_y gauge\nopenclaw_nats_y{v="q\\"\\\\\\n"} 1\n');
});

function call(handler: ReturnType<typeof createMetricsHandler>, method: string, url: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve) => {
    const req = Object.assign(new EventEmitter(), { method, url, headers: {} }) as unknown as IncomingMessage;
    let status = 0;
    let headers: Record<string, string> = {};
    const res = {
      writeHead: (s: number, h: Record<string, string>) => ((status = s), (headers = h)),
      end: (body?: string) => resolve({ status, headers, body: body ?? "" }),
    } as unknown as ServerResponse;
    void handler(req, res);
  });
}

test("the handler: GET the text with the 0.0.4 content type; other methods 405, other paths 404; a failing source 500, its reason logged and not answered", async () => {
  const warned: string[] = [];
  const log = { info: () => {}, warn: (m: string) => warned.push(m), error: () => {} };
  const ok = await call(createMetricsHandler("/nats/metrics", () => sources(), log), "GET", "/nats/metrics");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  assert.match(ok.body, /openclaw_nats_wakes_received_total 5/);
  assert.equal((await call(createMetricsHandler("/nats/metrics", () => sources(), log), "POST", "/nats/metrics")).status, 405);
  assert.equal((await call(createMetricsHandler("/nats/metrics", () => sources(), log), "GET", "/nats/metricsx")).status, 404);
  const failing = sources({ events: async () => Promise.reject(new Error("spool closed")) });
  const err = await call(createMetricsHandler("/nats/metrics", () => failing, log), "GET", "/nats/metrics");
  assert.equal(err.status, 500);
  assert.doesNotMatch(err.body, /spool closed/);
  assert.match(err.body, /gateway log/);
  assert.match(warned.join("\n"), /metrics scrape failed: spool closed/);
});
