import { test } from "node:test";
import assert from "node:assert/strict";
import { runStopSteps } from "./stop-steps.ts";

test("a throwing and a rejecting step are logged by name; every later step still runs, in order", async () => {
  const ran: string[] = [];
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
  const failed = await runStopSteps(
    "runtime",
    [
      ["a", () => ran.push("a")],
      ["b", () => { throw new Error("boom"); }],
      ["c", async () => (await Promise.resolve(), ran.push("c"))],
      ["d", () => Promise.reject(new Error("late"))],
      ["e", () => ran.push("e")],
    ],
    log,
  );
  assert.deepEqual(ran, ["a", "c", "e"]);
  assert.deepEqual(failed, ["b", "d"]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /stopping b failed \(boom\)/);
});
