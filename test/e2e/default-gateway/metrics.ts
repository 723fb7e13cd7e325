// Prometheus metrics (metrics.enabled in the default profile): a real Prometheus scrapes the gateway's
// /nats/metrics with the gateway token, and the counters a wake moves move in Prometheus's own answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Prometheus } from "../../harness/prometheus.ts";
import type { Stack } from "../../harness/stack.ts";
import { until } from "../../harness/wait.ts";

const PATH = "/nats/metrics";

export function metricsTests(shared: () => Stack): void {
  test("metrics: gateway auth guards /nats/metrics; the exposition never carries the token", async () => {
    const { gw } = shared();
    const anon = await fetch(`${gw.httpUrl}${PATH}`);
    assert.equal(anon.status, 401, "no credential, no metrics");
    assert.ok(!(await anon.text()).includes(gw.token));
    const res = await fetch(`${gw.httpUrl}${PATH}`, { headers: { authorization: `Bearer ${gw.token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    assert.ok(!body.includes(gw.token));
    assert.match(body, /^# TYPE openclaw_nats_wakes_handed_total counter$/m);
    assert.match(body, /^openclaw_nats_connected 1$/m);
    const post = await fetch(`${gw.httpUrl}${PATH}`, { method: "POST", headers: { authorization: `Bearer ${gw.token}` } });
    assert.equal(post.status, 405);
  });

  test("metrics: a real Prometheus scrapes them; a wake moves wakes_handed_total and the hand-off histogram, a bad one wakes_rejected_total{reason=invalid} and dead_letters_total", async (t) => {
    const { gw, nc } = shared();
    const prom = await Prometheus.start({ target: `127.0.0.1:${gw.port}`, metricsPath: PATH, bearerToken: gw.token });
    t.after(() => prom.stop());
    const one = async (expr: string): Promise<number | undefined> => (await prom.query(expr))[0]?.value;
    await until(async () => (await one('up{job="openclaw-nats"}')) === 1, 30_000, `Prometheus scraping ${PATH} (target: ${JSON.stringify(await prom.target())})`);
    const handed = (await one("openclaw_nats_wakes_handed_total"))!;
    const handoffs = (await one("openclaw_nats_wake_handoff_seconds_count"))!;
    const invalid = (await one('openclaw_nats_wakes_rejected_total{reason="invalid"}'))!;
    const dead = (await one("openclaw_nats_dead_letters_total"))!;
    assert.ok([handed, handoffs, invalid, dead].every((v) => typeof v === "number"), "every series is in Prometheus before the wake");

    nc.publish("agent.main.inbox", JSON.stringify({ from: "metrics-e2e", body: "a low wake for the metrics test (metrics-1)", priority: "low" }));
    nc.publish("agent.main.inbox", JSON.stringify({ from: "metrics-e2e", body: "bad priority (metrics-2)", priority: "whenever" }));
    await until(async () => ((await one("openclaw_nats_wakes_handed_total")) ?? 0) >= handed + 1, 30_000, "wakes_handed_total moved in Prometheus");
    await until(async () => ((await one('openclaw_nats_wakes_rejected_total{reason="invalid"}')) ?? 0) >= invalid + 1, 30_000, "wakes_rejected_total{reason=invalid} moved");
    await until(async () => ((await one("openclaw_nats_dead_letters_total")) ?? 0) >= dead + 1, 30_000, "dead_letters_total moved");
    assert.ok(((await one("openclaw_nats_wake_handoff_seconds_count")) ?? 0) >= handoffs + 1, "the hand-off histogram counted the wake");
    // Histogram buckets arrive as a proper histogram: histogram_quantile answers a number of seconds.
    const p99 = await one("histogram_quantile(0.99, openclaw_nats_wake_handoff_seconds_bucket)");
    assert.ok(p99 !== undefined && Number.isFinite(p99) && p99 > 0, `p99 hand-off ${p99}`);
    // Label values are bounded: every reason series is one of the fixed set, whatever senders wrote.
    const reasons = (await prom.query("openclaw_nats_wakes_rejected_total")).map((s) => s.metric.reason);
    assert.deepEqual(reasons.sort(), ["handoff_refused", "hop_limit", "hops_header", "invalid", "new_session_limit", "relay_refused", "relay_unavailable", "signature"]);
    assert.equal(await one("openclaw_nats_connected"), 1);
    assert.ok(((await one("openclaw_nats_events_recorded_total")) ?? 0) > 0, "the event store's figures are scraped too");
  });
}
