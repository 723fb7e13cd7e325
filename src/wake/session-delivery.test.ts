import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionDelivery } from "./session-delivery.ts";
import { MAX_ENTRIES, MAX_ENTRY_CHARS, packEntries } from "./packing.ts";
import type { InjectionResult, WakeHost } from "./host.ts";
import type { Logger } from "../shared/logger.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target = { agentId: "main", sessionKey: "agent:main:main" };

/** A host with the real limits: 32 entries per session, enqueued:false/id "" without a row; turns drain everything. */
function fakeHost(opts: { rows?: string[]; turnMs?: number; commitMs?: number; rowMs?: number } = {}) {
  const rows = new Map<string, string[]>((opts.rows ?? [target.sessionKey]).map((k) => [k, []]));
  const turns: Array<{ sessionKey: string; message: string; drained: string[] }> = [];
  const systemEvents: string[] = [];
  const host: WakeHost = {
    async enqueueInjection({ sessionKey, text, idempotencyKey }): Promise<InjectionResult> {
      await sleep(opts.commitMs ?? 5);
      const row = rows.get(sessionKey);
      if (!row) return { enqueued: false, id: "" };
      if (row.length >= MAX_ENTRIES) return { enqueued: false, id: idempotencyKey };
      assert.ok(text.length <= MAX_ENTRY_CHARS);
      row.push(text);
      return { enqueued: true, id: idempotencyKey };
    },
    pendingInjections: (sessionKey) => rows.get(sessionKey)?.length,
    sessionsWithPending: () => [...rows].filter(([, r]) => r.length > 0).map(([sessionKey]) => ({ sessionKey, agentId: sessionKey.split(":")[1]! })),
    enqueueSystemEvent: (text) => (systemEvents.push(text), true),
    async startTurn({ sessionKey, message }) {
      const row = rows.get(sessionKey) ?? [];
      // The host creates a new session's row a little after it accepted the turn (rowMs).
      if (!rows.has(sessionKey) && opts.rowMs) setTimeout(() => rows.set(sessionKey, rows.get(sessionKey) ?? []), opts.rowMs);
      else rows.set(sessionKey, []);
      turns.push({ sessionKey, message, drained: row });
      return { runId: `run-${turns.length}` };
    },
    async waitTurn() {
      await sleep(opts.turnMs ?? 20);
      return "ok";
    },
  };
  return { host, rows, turns, systemEvents };
}

const settings = { urgentTurnsPerMinute: 100, turnTimeoutMs: 5000 };

test("messages waiting while a commit is in flight are packed into one entry, in order", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost();
  h.addHost(f.host);
  const all = await Promise.all(Array.from({ length: 10 }, (_, i) => h.deliver(target, `[NORMAL from x] m${i}`, false)));
  assert.ok(all.every((r) => r.via === "injection"));
  const entries = f.rows.get(target.sessionKey)!;
  assert.ok(entries.length <= 2, `packed (${entries.length} entries)`);
  assert.equal(entries.join("\n"), Array.from({ length: 10 }, (_, i) => `[NORMAL from x] m${i}`).join("\n"));
  assert.equal(f.turns.length, 0, "normal never starts a turn");
});

test("a backlog delivered one at a time never hits the 32-entry cap: the session is woken and drained, nothing lost", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost({ commitMs: 1 });
  h.addHost(f.host);
  for (let i = 0; i < 100; i++) await h.deliver(target, `m${i}`, false);
  await sleep(100);
  const got = [...f.turns.flatMap((t) => t.drained), ...f.rows.get(target.sessionKey)!];
  assert.deepEqual(got.join("\n").split("\n"), Array.from({ length: 100 }, (_, i) => `m${i}`));
  assert.ok(h.counts.capWaits >= 1);
  assert.ok(f.turns.length >= 2 && f.turns.length <= 6, `${f.turns.length} turns`);
});

test("urgent wakes while a turn runs are coalesced into one follow-up turn", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost({ turnMs: 200 });
  h.addHost(f.host);
  await h.deliver(target, "u0", true);
  await sleep(30);
  for (let i = 1; i <= 5; i++) await h.deliver(target, `u${i}`, true);
  await sleep(600);
  assert.equal(f.turns.length, 2);
  assert.deepEqual(f.turns.map((t) => t.drained.join("\n")), ["u0", "u1\nu2\nu3\nu4\nu5"]);
  assert.ok(h.waker.counts.coalesced >= 4);
});

test("past urgentTurnsPerMinute the next turn waits for the window, counted; nothing is dropped", async () => {
  const h = new SessionDelivery({ urgentTurnsPerMinute: 2, turnTimeoutMs: 5000 }, log);
  const f = fakeHost({ turnMs: 5 });
  h.addHost(f.host);
  for (let i = 0; i < 3; i++) {
    await h.deliver(target, `u${i}`, true);
    await sleep(50);
  }
  assert.equal(f.turns.length, 2);
  assert.equal(h.waker.counts.rateLimited, 1);
  assert.deepEqual(f.rows.get(target.sessionKey), ["u2"], "the third waits, committed");
  h.waker.stop();
});

test("a session without a row: urgent starts its first turn with the text, normal goes in as a system event", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost({ rows: [] });
  h.addHost(f.host);
  assert.deepEqual(await h.deliver({ agentId: "ops", sessionKey: "agent:ops:main" }, "[NORMAL from a] n", false), { via: "system-event" });
  assert.deepEqual(await h.deliver({ agentId: "ops", sessionKey: "agent:ops:main" }, "[URGENT from a] u", true), { via: "turn" });
  assert.deepEqual(f.systemEvents, ["[NORMAL from a] n"]);
  assert.equal(f.turns[0]?.message, "[URGENT from a] u");
});

test("a new session's messages stay in order while its first turn creates the row: later ones wait and are injected after it", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost({ rows: [], rowMs: 60, turnMs: 150 });
  h.addHost(f.host);
  const t = { agentId: "ops", sessionKey: "agent:ops:main" };
  const texts = Array.from({ length: 12 }, (_, i) => `[URGENT from a] m${i}`);
  const receipts: Array<Promise<unknown>> = [];
  for (const text of texts) {
    receipts.push(h.deliver(t, text, true));
    await sleep(10);
  }
  const results = (await Promise.all(receipts)) as Array<{ via: string }>;
  assert.equal(results[0]?.via, "turn");
  assert.ok(results.slice(1).every((r) => r.via === "injection"), JSON.stringify(results));
  assert.equal(h.counts.firstTurns, 1, "one first turn");
  for (let i = 0; i < 50 && (f.rows.get(t.sessionKey)?.length ?? 1) > 0; i++) await sleep(50);
  const seen = f.turns.flatMap((turn) => [turn.message, ...turn.drained].join("\n").split("\n")).filter((x) => x.startsWith("[URGENT"));
  assert.deepEqual(seen, texts, "every message once, in order");
});

test("a stale registration (refuses with id \"\" while the row exists) falls through to another host", async () => {
  const h = new SessionDelivery(settings, log);
  const good = fakeHost();
  h.addHost(good.host);
  const stale: WakeHost = { ...good.host, enqueueInjection: async () => ({ enqueued: false, id: "" }) };
  h.addHost(stale);
  assert.deepEqual(await h.deliver(target, "x", false), { via: "injection" });
  assert.deepEqual(good.rows.get(target.sessionKey), ["x"]);
});

test("on start, sessions still holding our injections are woken", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost();
  f.rows.get(target.sessionKey)!.push("left over");
  h.addHost(f.host);
  assert.equal(h.recoverPending(), 1);
  await sleep(50);
  assert.deepEqual(f.turns[0]?.drained, ["left over"]);
});

test("a text longer than one entry is cut into consecutive entries", () => {
  const big = "x".repeat(MAX_ENTRY_CHARS + 10);
  const parts = packEntries(["a", big]);
  assert.equal(parts.length, 2);
  assert.equal(parts.join(""), `a\n${big}`);
});

test("a hand-off with an id (alertmanager) is its own entry keyed by it: a retry while pending is not a second copy", async () => {
  const h = new SessionDelivery(settings, log);
  const f = fakeHost();
  const keys: string[] = [];
  const enqueue = f.host.enqueueInjection;
  f.host.enqueueInjection = async (p) => {
    keys.push(p.idempotencyKey);
    if (keys.filter((k) => k === p.idempotencyKey).length > 1) return { enqueued: false, id: p.idempotencyKey }; // the host's dedup
    return enqueue(p);
  };
  h.addHost(f.host);
  const w = { target, priority: "normal" as const, from: "alertmanager", body: "disk full", id: "grp-1:firing" };
  await h.deliverWake(w);
  await h.deliverWake(w);
  assert.deepEqual(f.rows.get(target.sessionKey), ["[NORMAL from alertmanager] disk full"]);
  assert.deepEqual(keys, ["nats:grp-1:firing", "nats:grp-1:firing"]);
});
