import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config/parse.ts";
import { alert, payload } from "../../test/fixtures/alertmanager-payload.ts";
import { createAlertmanagerHandler, presentedSecret } from "./http.ts";
import type { AlertHandoff } from "./receiver.ts";
import { AlertService } from "./service.ts";

const TOKEN = "alert-token-0123456789";
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

async function serve(stateDir: string, handoff: (w: AlertHandoff) => Promise<void>): Promise<{ url: string; service: AlertService; close: () => Promise<void> }> {
  const cfg = parseConfig({ alertmanager: { authToken: TOKEN, maxBodyBytes: 4096 } });
  const service = new AlertService(cfg, { stateDir, logger: quiet, handoff });
  const handler = createAlertmanagerHandler({ token: TOKEN, maxBodyBytes: 4096 }, service.receiver, quiet);
  const server: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alertmanager`;
  return { url, service, close: () => new Promise<void>((r) => server.close(() => (service.stop(), r()))) };
}

const post = (url: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }) =>
  fetch(url, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

test("presentedSecret reads bearer and basic (password) credentials", () => {
  assert.equal(presentedSecret("Bearer abc"), "abc");
  assert.equal(presentedSecret(`Basic ${Buffer.from("am:s3cret:x").toString("base64")}`), "s3cret:x");
  assert.equal(presentedSecret("Basic !!!"), undefined);
  assert.equal(presentedSecret(undefined), undefined);
});

test("refusals: method, credentials, content type, size, payload — each with its status and reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), "am-http-"));
  const s = await serve(dir, async () => {});
  try {
    assert.equal((await fetch(s.url)).status, 405);
    const noAuth = await post(s.url, payload([alert("A")]), { "content-type": "application/json" });
    assert.equal(noAuth.status, 401);
    assert.match(((await noAuth.json()) as { error: string }).error, /missing credentials/);
    assert.equal((await post(s.url, payload([alert("A")]), { authorization: "Bearer wrong-token-xxxxxxxx", "content-type": "application/json" })).status, 401);
    assert.equal((await post(s.url, "x", { authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" })).status, 415);
    assert.equal((await post(s.url, { pad: "x".repeat(5000) })).status, 413);
    const bad = await post(s.url, { ...payload([alert("A")]), version: "2" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /version: must be "4"/);
    const basic = await post(s.url, payload([alert("A")]), { authorization: `Basic ${Buffer.from(`am:${TOKEN}`).toString("base64")}`, "content-type": "application/json" });
    assert.equal(basic.status, 200);
    assert.equal(s.service.receiver.counts.rejected, 6);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("one wake per state change; dedup survives a restart; a failed hand-off stays in the outbox and is retried", async () => {
  const dir = mkdtempSync(join(tmpdir(), "am-http-"));
  const handed: AlertHandoff[] = [];
  let failNext = false;
  const handoff = async (w: AlertHandoff): Promise<void> => {
    if (failNext) {
      failNext = false;
      throw new Error("host busy");
    }
    handed.push(w);
  };
  let s = await serve(dir, handoff);
  try {
    const firing = payload([alert("A")]);
    const r1 = (await (await post(s.url, firing)).json()) as Record<string, unknown>;
    assert.deepEqual(r1, { ok: true, woke: true, sessionKey: "agent:main:main", priority: "urgent", firing: 1, resolved: 0, handedOver: true });
    assert.equal(handed.length, 1);
    assert.equal(handed[0]!.from, "alertmanager");
    assert.match(handed[0]!.body, /^Alert group firing: 1 firing \(1 new\)/);
    const r2 = (await (await post(s.url, firing)).json()) as Record<string, unknown>;
    assert.equal(r2.woke, false);
    await s.close();

    s = await serve(dir, handoff); // a gateway restart: same state dir
    assert.equal(((await (await post(s.url, firing)).json()) as Record<string, unknown>).woke, false, "no second wake after a restart");
    failNext = true;
    const resolved = payload([alert("A", { status: "resolved", endsAt: "2026-09-01T10:05:00Z" })]);
    const r3 = await post(s.url, resolved);
    assert.equal(r3.status, 200, "accepted durably even though the hand-off failed");
    assert.equal(((await r3.json()) as Record<string, unknown>).handedOver, false);
    assert.equal(s.service.receiver.stats().pendingWakes, 1);
    assert.equal(await s.service.receiver.drain(), 1);
    assert.equal(handed.length, 2);
    assert.match(handed[1]!.body, /^Alert group resolved: 0 firing, 1 resolved \(1 just now\)/);
    assert.equal(s.service.receiver.stats().pendingWakes, 0);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a state file that cannot be written answers 500 (Alertmanager retries)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "am-http-"));
  const s = await serve(dir, async () => {});
  try {
    assert.equal((await post(s.url, payload([alert("A")]))).status, 200);
    s.service.stop();
    // a directory where the state file should be: opening it fails (file modes would not stop root)
    for (const f of ["alertmanager.sqlite", "alertmanager.sqlite-wal", "alertmanager.sqlite-shm"]) rmSync(join(dir, f), { force: true });
    mkdirSync(join(dir, "alertmanager.sqlite"));
    const r = await post(s.url, payload([alert("B", { fingerprint: "fp-B" })]));
    assert.equal(r.status, 500);
    assert.match(((await r.json()) as { error: string }).error, /^alert not recorded: /);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
