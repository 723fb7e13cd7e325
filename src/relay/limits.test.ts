import { test } from "node:test";
import assert from "node:assert/strict";
import { holdUntilDone, TurnSlots } from "./limits.ts";

test("a slot outlives a caller's timeout: kept while the host says pending or timeout, freed when the run ends", async () => {
  const slots = new TurnSlots(1, 1);
  const slot = slots.take("agent:b:main");
  assert.ok(slot.ok);
  const answers = ["pending", "timeout", "timeout", "ok"];
  const asked: number[] = [];
  const done = holdUntilDone(async (_id, ms) => (asked.push(ms), { status: answers.shift() ?? "ok" }), "run-1", 60_000, slot.release, 1);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(slots.take("agent:a:main").ok, false, "still held while the host has not finished the run");
  await done;
  assert.equal(asked.length, 4, "asked again after each pending/timeout answer");
  assert.ok(asked.every((ms) => ms > 0 && ms <= 60_000));
  const next = slots.take("agent:a:main");
  assert.equal(next.ok, true, "freed once the run ended");
});

test("a slot is freed at the deadline, or when the host's wait throws", async () => {
  const slots = new TurnSlots(2, 1);
  const a = slots.take("s1");
  const b = slots.take("s2");
  assert.ok(a.ok && b.ok);
  await holdUntilDone(async () => ({ status: "pending" }), "r", 30, a.release, 5);
  await holdUntilDone(async () => {
    throw new Error("gone");
  }, "r", 60_000, b.release);
  assert.equal(slots.active, 0);
});
