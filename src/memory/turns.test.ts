import { test } from "node:test";
import assert from "node:assert/strict";
import { formatWakeText } from "../wake/route.ts";
import { WAKE_TURN_MESSAGE } from "../wake/waker.ts";
import { carried, carriedKeys } from "./carried.ts";
import { CarriedTurns, pieces } from "./turns.ts";

const KEY = "agent:main:main";

test("a wake turn's injections are carried: the turn's prompt is only the wake turn's message, the body comes as an injection", () => {
  const t = new CarriedTurns();
  const body = "Disk on db-1 is at 95 percent";
  t.noteInjected(KEY, [formatWakeText("urgent", "ops", body)]);
  t.noteTurn(KEY, WAKE_TURN_MESSAGE, true, 1000);
  const ex = t.exclusion(KEY);
  assert.ok(ex);
  assert.equal(ex.since, 1000);
  assert.ok(carried(body, carriedKeys(ex.texts)), "the wake body is left out of the block");
  assert.ok(!carried("The backup finished at 3am", carriedKeys(ex.texts)));
  // Taken by that turn: the next turn of the session starts with only its own texts noted.
  t.noteTurn(KEY, "next question", true, 2000);
  assert.deepEqual(t.exclusion(KEY)?.texts, ["next question"]);
});

test("injections noted for one session are not another's", () => {
  const t = new CarriedTurns();
  t.noteInjected(KEY, ["[URGENT from ops] for main only"]);
  t.noteTurn("agent:main:other", "hi", true);
  assert.deepEqual(t.exclusion("agent:main:other")?.texts, ["hi"]);
  assert.equal(t.exclusion(KEY), undefined);
});

test("a packed entry (many messages, 32 KiB) is split at line ends, so each message stays matchable", () => {
  const msgs = Array.from({ length: 400 }, (_, i) => formatWakeText("normal", "cron", `job ${i} finished with status ok and ${"x".repeat(40)}`));
  const entry = msgs.join("\n");
  assert.ok(entry.length > 16_384 * 2 - 10_000);
  const parts = pieces(entry);
  assert.ok(parts.length >= 2 && parts.every((p) => p.length <= 16_384));
  assert.equal(parts.join("\n"), entry);
  const keys = carriedKeys(parts);
  for (const i of [0, 199, 200, 399]) assert.ok(carried(`job ${i} finished with status ok and ${"x".repeat(40)}`, keys), `message ${i}`);
});

test("a session keeps its newest texts within the bound", () => {
  const t = new CarriedTurns();
  t.noteTurn(KEY, "first prompt", true);
  for (let i = 0; i < 20; i++) t.noteTurn(KEY, `${i} ${"y".repeat(16_000)}`, false);
  const texts = t.exclusion(KEY)?.texts ?? [];
  assert.ok(texts.reduce((n, x) => n + x.length, 0) <= 8 * 16_384);
  assert.ok(texts.at(-1)?.startsWith("19 "));
  assert.ok(!texts.includes("first prompt"), "the oldest went first");
});
