import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/parse.ts";
import { alert, payload } from "../../test/fixtures/alertmanager-payload.ts";
import { alertPriority, decide, routeGroup, type GroupRecord } from "./decide.ts";

const cfg = (am: object = {}) => parseConfig({ alertmanager: am }).alertmanager;

function remember(p: ReturnType<typeof payload>, d: ReturnType<typeof decide>, sessionKey = "agent:main:main"): GroupRecord {
  return { groupKey: p.groupKey, receiver: p.receiver, sessionKey, priority: d.kind === "wake" ? d.priority : undefined, alerts: d.next, updatedAt: 0, notifiedAt: 0 };
}

test("severity maps to priority; the override label wins; unknown severity gets defaultPriority", () => {
  const c = cfg();
  assert.equal(alertPriority(alert("A", { labels: { severity: "critical" } }), c), "urgent");
  assert.equal(alertPriority(alert("A", { labels: { severity: "WARNING" } }), c), "normal");
  assert.equal(alertPriority(alert("A", { labels: { severity: "info" } }), c), "low");
  assert.equal(alertPriority(alert("A", { labels: { severity: "weird" } }), c), "normal");
  assert.equal(alertPriority(alert("A", { labels: { severity: "info", openclaw_priority: "urgent" } }), c), "urgent");
  assert.equal(alertPriority(alert("A", { labels: { severity: "critical", openclaw_priority: "nonsense" } }), c), "urgent");
  assert.equal(alertPriority(alert("A", { labels: { severity: "critical" } }), cfg({ priorities: { critical: "normal" } })), "normal");
});

test("routes by receiver and labels, first match wins, else alertmanager.agent, else defaultAgent", () => {
  const c = cfg({
    agent: "oncall",
    routes: [
      { receiver: "db-team", agent: "dba" },
      { labels: { team: "web", env: "prod" }, sessionKey: "agent:web:telegram:group:-100" },
    ],
  });
  assert.deepEqual(routeGroup({ receiver: "db-team", commonLabels: {} }, c, "main"), { agentId: "dba", sessionKey: "agent:dba:main" });
  assert.deepEqual(routeGroup({ receiver: "x", commonLabels: { team: "web", env: "prod" } }, c, "main"), { agentId: "web", sessionKey: "agent:web:telegram:group:-100" });
  assert.deepEqual(routeGroup({ receiver: "x", commonLabels: { team: "web" } }, c, "main"), { agentId: "oncall", sessionKey: "agent:oncall:main" });
  assert.deepEqual(routeGroup({ receiver: "x", commonLabels: {} }, cfg(), "main"), { agentId: "main", sessionKey: "agent:main:main" });
});

test("first firing wakes; the same state re-sent stays quiet; a new alert in the group wakes the same session", () => {
  const c = cfg();
  const p1 = payload([alert("A")]);
  const d1 = decide(p1, undefined, c, "main");
  assert.equal(d1.kind, "wake");
  assert.equal(d1.kind === "wake" && d1.priority, "urgent");
  const prev = remember(p1, d1, "agent:ops:main");
  assert.deepEqual(decide(p1, prev, c, "main"), { kind: "quiet", reason: "unchanged since the last notification", next: prev.alerts });
  const p2 = payload([alert("A"), alert("B", { labels: { severity: "warning" } })]);
  const d2 = decide(p2, prev, c, "main");
  assert.equal(d2.kind, "wake");
  if (d2.kind !== "wake") return;
  assert.deepEqual(d2.newlyFiring.map((a) => a.labels.alertname), ["B"]);
  assert.equal(d2.target.sessionKey, "agent:ops:main", "an open episode stays with its session");
  assert.equal(d2.priority, "normal", "priority of what changed");
});

test("resolved goes only to the session woken for the group, with the episode's priority", () => {
  const c = cfg();
  const p1 = payload([alert("A")]);
  const d1 = decide(p1, undefined, c, "main");
  const prev = remember(p1, d1, "agent:ops:telegram:direct:1");
  const resolved = payload([alert("A", { status: "resolved", endsAt: "2026-09-01T10:05:00Z" })]);
  const d2 = decide(resolved, prev, c, "main");
  assert.equal(d2.kind, "wake");
  if (d2.kind !== "wake") return;
  assert.equal(d2.target.sessionKey, "agent:ops:telegram:direct:1");
  assert.equal(d2.priority, "urgent");
  assert.deepEqual(d2.newlyResolved.map((a) => a.fingerprint), ["fp-A"]);
  // the resolved notification again (retry, repeat) stays quiet
  const after = { ...prev, alerts: d2.next };
  assert.equal(decide(resolved, after, c, "main").kind, "quiet");
  // resolvedPriority overrides
  const d3 = decide(resolved, prev, cfg({ resolvedPriority: "low" }), "main");
  assert.equal(d3.kind === "wake" && d3.priority, "low");
});

test("resolved alerts nobody saw firing wake nobody", () => {
  const d = decide(payload([alert("A", { status: "resolved" })]), undefined, cfg(), "main");
  assert.deepEqual(d.kind === "quiet" && d.reason, "resolved alerts that no session was woken for");
});

test("an alert that fires again (new startsAt) after resolving is a new episode and is routed afresh", () => {
  const c = cfg({ routes: [{ receiver: "openclaw", agent: "ops" }] });
  const p1 = payload([alert("A")]);
  const d1 = decide(p1, undefined, c, "main");
  let prev = remember(p1, d1, "agent:old:main");
  const d2 = decide(payload([alert("A", { status: "resolved" })]), prev, c, "main");
  prev = { ...prev, alerts: d2.next };
  const d3 = decide(payload([alert("A", { startsAt: "2026-09-01T11:00:00Z" })]), prev, c, "main");
  assert.equal(d3.kind, "wake");
  assert.equal(d3.kind === "wake" && d3.target.sessionKey, "agent:ops:main");
});
