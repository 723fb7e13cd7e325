import { test } from "node:test";
import assert from "node:assert/strict";
import { TurnLimits } from "./limits.ts";

test("turn limits: per caller first, then in total; releases are idempotent", () => {
  const l = new TurnLimits(2, 1);
  const a = l.acquire("a");
  assert.ok(a.ok);
  const a2 = l.acquire("a");
  assert.ok(!a2.ok);
  assert.match(a2.reason, /maxTurnsPerCaller 1/);
  const b = l.acquire("b");
  assert.ok(b.ok);
  const c = l.acquire("c");
  assert.ok(!c.ok);
  assert.match(c.reason, /maxConcurrentTurns 2/);
  a.release();
  a.release();
  assert.equal(l.active, 1);
  assert.ok(l.acquire("c").ok);
});
