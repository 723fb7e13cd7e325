import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimitedLog } from "./rate-limited-log.ts";

test("first occurrence at once, then one count line per interval; quiet intervals log nothing", () => {
  const lines: string[] = [];
  let now = 0;
  let timer: (() => void) | undefined;
  const log = new RateLimitedLog({ info: () => {}, warn: (m) => lines.push(m), error: () => {} }, "auth failures", {
    intervalMs: 60_000,
    now: () => now,
    setTimer: (fn) => ((timer = fn), {}),
  });
  log.report("401 from a");
  for (let i = 0; i < 9; i++) log.report(`401 from b${i}`);
  assert.deepEqual(lines, ["401 from a"]);
  now = 60_000;
  timer?.();
  assert.deepEqual(lines, ["401 from a", "auth failures: 9 more in the last 60 s (last: 401 from b8)"]);
  timer = undefined;
  now = 200_000;
  log.report("401 from c");
  assert.equal(lines.at(-1), "401 from c", "after a quiet interval the next one is logged at once");
  assert.equal(timer, undefined);
});
