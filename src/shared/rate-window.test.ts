import assert from "node:assert/strict";
import { test } from "node:test";
import { RateWindow } from "./rate-window.ts";

test("RateWindow: under the limit now; at it, the wait until the oldest event in the window leaves it", () => {
  const w = new RateWindow(60_000);
  assert.equal(w.delay("a", 2, 1_000), 0);
  w.add("a", 1_000);
  w.add("a", 5_000);
  assert.equal(w.delay("a", 2, 10_000), 51_000, "the event at 1 s leaves the window at 61 s");
  assert.equal(w.delay("a", 3, 10_000), 0, "a higher limit has room");
  assert.equal(w.delay("b", 2, 10_000), 0, "keys are counted apart");
  assert.equal(w.delay("a", 2, 61_001), 0);
  assert.equal(w.delay("a", 1, 70_000), 0, "both events left the window");
  assert.equal(w.size, 0, "a key with no event left is forgotten");
});
