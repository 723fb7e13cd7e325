import { test } from "node:test";
import assert from "node:assert/strict";
import type { Logger } from "../shared/logger.ts";
import type { WakeHost } from "./host.ts";
import { SessionDelivery } from "./session-delivery.ts";
import { WAKE_TURN_MESSAGE } from "./waker.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target = { agentId: "ops", sessionKey: "agent:ops:main" };

/**
 * A host that builds each turn's prompt a little after it accepted the turn, as the gateway does: the
 * queued next-turn injections are drained then, and the plugin's agent_turn_prepare hook (`hook`, or none)
 * adds its text after them. A new session's row appears `rowMs` after the turn was accepted.
 */
function preparingHost(d: SessionDelivery, opts: { hook: boolean; rowMs?: number; prepareMs?: number; turnMs?: number }) {
  const rows = new Map<string, string[]>();
  const turns: Array<{ message: string; appended: string[] }> = [];
  const ends = new Map<string, Promise<void>>();
  const host: WakeHost = {
    async enqueueInjection({ sessionKey, text, idempotencyKey }) {
      const row = rows.get(sessionKey);
      if (!row) return { enqueued: false, id: "" };
      row.push(text);
      return { enqueued: true, id: idempotencyKey };
    },
    pendingInjections: (sessionKey) => rows.get(sessionKey)?.length,
    sessionsWithPending: () => [],
    enqueueSystemEvent: () => true,
    async startTurn({ sessionKey, message }) {
      const runId = `run-${turns.length + 1}`; // not our idempotency key: the waker follows the host's id
      const turn = { message, appended: [] as string[] };
      turns.push(turn);
      setTimeout(() => rows.set(sessionKey, rows.get(sessionKey) ?? []), opts.rowMs ?? 0);
      ends.set(
        runId,
        (async () => {
          await sleep(opts.prepareMs ?? 30);
          const queued = rows.get(sessionKey)?.splice(0) ?? [];
          const hooked = opts.hook ? d.waker.firstTurns.take(runId) : undefined;
          turn.appended = [...queued, ...(hooked ? [hooked] : [])];
          await sleep(opts.turnMs ?? 40);
        })(),
      );
      return { runId };
    },
    async waitTurn(runId) {
      await ends.get(runId);
      return "ok";
    },
  };
  return { host, turns };
}

/** Every text the model saw, in order: a turn's message (unless it is the fixed line), then what was appended. */
const seen = (turns: Array<{ message: string; appended: string[] }>) =>
  turns.flatMap((t) => [...(t.message === WAKE_TURN_MESSAGE ? [] : [t.message]), ...t.appended].join("\n").split("\n"));

test("with the hook, a new session's first turn has the fixed message and its text appended once; later messages follow in order", async () => {
  const d = new SessionDelivery({ urgentTurnsPerMinute: 100, turnTimeoutMs: 5000 }, log);
  d.waker.firstTurns.enabled = true;
  const f = preparingHost(d, { hook: true, rowMs: 10, prepareMs: 60 });
  d.addHost(f.host);
  const texts = Array.from({ length: 8 }, (_, i) => `[URGENT from a] m${i}`);
  const receipts = [];
  for (const t of texts) {
    receipts.push(d.deliver(target, t, true));
    await sleep(5);
  }
  const results = await Promise.all(receipts);
  assert.equal(results[0]?.via, "turn");
  for (let i = 0; i < 100 && (d.waker.isRunning(target.sessionKey) || (f.host.pendingInjections(target.sessionKey, "ops") ?? 0) > 0); i++) await sleep(20);
  assert.equal(f.turns[0]?.message, WAKE_TURN_MESSAGE, "the first turn's message is the fixed line, not the text (the host lists it as the run's task)");
  assert.deepEqual(f.turns[0]?.appended, [texts[0]], "the first text, once, appended by the hook; later ones waited for that prompt");
  assert.deepEqual(seen(f.turns), texts, "every message once, in order");
  assert.equal(d.waker.firstTurns.size, 0, "nothing held after the turns ended");
});

test("with the hook configured but never run (a runner without agent_turn_prepare), the text gets a turn of its own as its message", async () => {
  const d = new SessionDelivery({ urgentTurnsPerMinute: 100, turnTimeoutMs: 5000 }, log);
  d.waker.firstTurns.enabled = true;
  const f = preparingHost(d, { hook: false });
  d.addHost(f.host);
  assert.equal((await d.deliver(target, "[URGENT from a] only", true)).via, "turn");
  for (let i = 0; i < 100 && f.turns.length < 2; i++) await sleep(20);
  for (let i = 0; i < 100 && d.waker.isRunning(target.sessionKey); i++) await sleep(20);
  assert.deepEqual(f.turns.map((t) => t.message), [WAKE_TURN_MESSAGE, "[URGENT from a] only"]);
  assert.ok(logs.some((l) => /ended before it took its message/.test(l)), "said in the log");
  assert.equal(d.waker.firstTurns.size, 0);
});

test("without the hook (no conversation access), the first turn carries its text as its message, as before", async () => {
  const d = new SessionDelivery({ urgentTurnsPerMinute: 100, turnTimeoutMs: 5000 }, log);
  const f = preparingHost(d, { hook: false });
  d.addHost(f.host);
  await d.deliver(target, "[URGENT from a] plain", true);
  for (let i = 0; i < 100 && d.waker.isRunning(target.sessionKey); i++) await sleep(20);
  assert.deepEqual(f.turns.map((t) => t.message), ["[URGENT from a] plain"]);
});
