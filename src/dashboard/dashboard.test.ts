import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import { WakeDispatcher } from "../wake/dispatcher.ts";
import { DashboardCollector } from "./collector.ts";
import { EventFeed, matchesFilter, toFeedEvent } from "./feed.ts";
import { createApiHandler, createPageHandler, loadPage } from "./http.ts";
import { PageTokens, SESSION_MAX_MS, TOKEN_TTL_MS } from "./page-token.ts";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test("page tokens: valid, renewed within the session, refused when forged, expired, too old or from another gateway", () => {
  const tokens = new PageTokens();
  const t0 = 1_800_000_000_000;
  const token = tokens.issue(t0, t0);
  assert.deepEqual(tokens.verify(token, t0 + 1000), { ok: true, session: { startedAt: t0 } });
  assert.deepEqual(tokens.verify(token, t0 + TOKEN_TTL_MS + 1), { ok: false, error: "page token expired" });
  const renewed = tokens.issue(t0, t0 + SESSION_MAX_MS - 1000);
  assert.equal(tokens.verify(renewed, t0 + SESSION_MAX_MS - 500).ok, true);
  assert.deepEqual(tokens.verify(renewed, t0 + SESSION_MAX_MS + 1), { ok: false, error: "page session too old" });
  const [started, exp, sig] = token.split(".");
  assert.equal(tokens.verify(`${Number(started) + 1}.${exp}.${sig}`, t0).ok, false, "a changed start time breaks the signature");
  assert.equal(tokens.verify(`${started}.${Number(exp) + 60_000}.${sig}`, t0).ok, false, "an extended expiry breaks the signature");
  assert.equal(new PageTokens().verify(token, t0).ok, false);
  assert.equal(tokens.verify(undefined).ok, false);
  assert.equal(tokens.verify("garbage").ok, false);
});

test("feed events come from event-store envelopes; filters by agent and by type prefix at a dot boundary", () => {
  const e = toFeedEvent("openclaw.events.main.msg_in", JSON.stringify({ id: "x1", ts: 5, agent: "main", session: "agent:main:main", type: "msg.in", payload: { text: "y".repeat(1000) } }));
  assert.ok(e);
  assert.equal(e.preview.length, 241);
  assert.equal(toFeedEvent("s", "not json"), undefined);
  assert.equal(toFeedEvent("s", JSON.stringify({ hello: 1 })), undefined);
  assert.equal(matchesFilter(e, {}), true);
  assert.equal(matchesFilter(e, { agent: "main", type: "msg" }), true);
  assert.equal(matchesFilter(e, { type: "msg.in" }), true);
  assert.equal(matchesFilter(e, { type: "ms" }), false);
  assert.equal(matchesFilter(e, { agent: "ops" }), false);
});

async function serveDashboard(): Promise<{ url: string; tokens: PageTokens; close: () => Promise<void> }> {
  const cfg = parseConfig({ url: "nats://user:hunter2secret@127.0.0.1:1", credentials: undefined });
  const link = new NatsLink({ url: cfg.url, reconnect: cfg.reconnect, name: "t" }, quiet); // never started: a disconnected gateway
  const dispatcher = new WakeDispatcher(cfg, { enqueueSystemEvent: () => true, requestHeartbeat: () => {} }, quiet);
  const collector = new DashboardCollector({ cfg, link, dispatcher, events: undefined, alerts: undefined });
  const feed = new EventFeed(link, ["openclaw.events"], quiet);
  const tokens = new PageTokens();
  const opts = { base: "/nats-dashboard", apiBase: "/nats-dashboard-api", refreshMs: 3000, feedLifetimeMs: 1000 };
  const page = createPageHandler(opts, loadPage(), tokens);
  const api = createApiHandler(opts, { collector, feed, tokens, log: quiet });
  const server: Server = createServer((req, res) => void (req.url?.startsWith("/nats-dashboard-api") ? api(req, res) : page(req, res)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokens, close: () => new Promise<void>((r) => (feed.stop(), server.close(() => r()))) };
}

test("the page: inline script and style allowed by their hashes and nothing else; read-only; carries an API token", async () => {
  const s = await serveDashboard();
  try {
    const res = await fetch(`${s.url}/nats-dashboard/`);
    const html = await res.text();
    const csp = res.headers.get("content-security-policy") ?? "";
    const hash = (t: string) => `'sha256-${createHash("sha256").update(t).digest("base64")}'`;
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    assert.ok(script.length > 1000 && style.length > 500);
    assert.ok(csp.includes(`script-src ${hash(script)};`), "the script's hash is the only script source");
    assert.ok(csp.includes(`style-src ${hash(style)};`));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /frame-ancestors 'self'$/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const boot = JSON.parse((/content="([^"]*)"/.exec(html.split('name="nats-dashboard"')[1] ?? "")?.[1] ?? "").replaceAll("&#34;", '"')) as { token: string; api: string };
    assert.equal(boot.api, "/nats-dashboard-api");
    assert.equal(s.tokens.verify(boot.token).ok, true);
    assert.equal((await fetch(`${s.url}/nats-dashboard/`, { method: "POST" })).status, 405);
    assert.equal((await fetch(`${s.url}/nats-dashboard`, { redirect: "manual" })).headers.get("location"), "/nats-dashboard/");
    assert.equal((await fetch(`${s.url}/nats-dashboard/app.js`)).status, 404);
  } finally {
    await s.close();
  }
});

test("the API: nothing without a valid token; with one, a snapshot with secrets redacted, a renewed token and CORS for the sandbox", async () => {
  const s = await serveDashboard();
  try {
    for (const q of ["", "?t=", "?t=1.2.abc"]) {
      const r = await fetch(`${s.url}/nats-dashboard-api/state${q}`);
      assert.equal(r.status, 401);
      const body = await r.text();
      assert.doesNotMatch(body, /127\.0\.0\.1|connection/);
    }
    const token = s.tokens.issue();
    const r = await fetch(`${s.url}/nats-dashboard-api/state?t=${token}`, { headers: { origin: "null" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "null");
    assert.equal(r.headers.get("access-control-allow-credentials"), null, "no cookies are involved");
    const text = await r.text();
    assert.ok(!text.includes("hunter2secret"), "no secret in the snapshot");
    const snap = JSON.parse(text) as { ok: boolean; token: string; connection: { connected: boolean; url: string }; events: { enabled: boolean } };
    assert.equal(snap.ok, true);
    assert.equal(snap.connection.connected, false);
    assert.equal(snap.connection.url, "nats://***@127.0.0.1:1");
    assert.equal(s.tokens.verify(snap.token).ok, true);
    const evil = await fetch(`${s.url}/nats-dashboard-api/state?t=${token}`, { headers: { origin: "https://evil.example" } });
    assert.equal(evil.headers.get("access-control-allow-origin"), null, "other origins get no CORS grant");
    assert.equal((await fetch(`${s.url}/nats-dashboard-api/state?t=${token}`, { method: "POST" })).status, 405);
    const feed = await fetch(`${s.url}/nats-dashboard-api/feed?t=${token}`);
    assert.equal(feed.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = feed.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^retry: 2000\nevent: hello\ndata: \{"connected":false,"subjects":\["openclaw\.events\.>"\]\}/);
    await reader.cancel();
  } finally {
    await s.close();
  }
});
