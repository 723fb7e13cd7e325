import assert from "node:assert/strict";
import { test } from "node:test";
import { peekProcessState, processEntry, processState, processStateNames, setProcessState } from "./process-state.ts";

test("two module copies' declarations of one entry meet in the one process object", () => {
  let created = 0;
  // What two registry generations' copies of a module do: each declares its own entry object, same name.
  const copyA = processEntry("test", "counter", () => ({ n: ++created }));
  const copyB = processEntry("test", "counter", () => ({ n: ++created }));
  assert.equal(peekProcessState(copyA), undefined);
  const a = processState(copyA);
  assert.equal(processState(copyB), a, "the second copy finds the first copy's value");
  assert.equal(created, 1);
  assert.ok(processStateNames().includes("test.counter"));
  // One slot on globalThis for all of them.
  const ours = Object.getOwnPropertySymbols(globalThis).filter((s) => s.description?.startsWith("openclaw-nats."));
  assert.deepEqual(ours.map((s) => s.description), ["openclaw-nats.process"]);
});

test("entries are namespaced by owner; set replaces the value for every copy", () => {
  const wake = processEntry("test-wake", "ctx", () => "wake");
  const trace = processEntry("test-trace", "ctx", () => "trace");
  assert.equal(processState(wake), "wake");
  assert.equal(processState(trace), "trace");
  setProcessState(processEntry<string>("test-wake", "ctx", () => "unused"), "replaced");
  assert.equal(processState(wake), "replaced");
});
