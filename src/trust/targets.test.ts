import { test } from "node:test";
import assert from "node:assert/strict";
import { checkTarget, patternMatches } from "./targets.ts";

test("trailing :* matches by prefix, up to and including the colon", () => {
  assert.equal(patternMatches("agent:broker:*", "agent:broker:main"), true);
  assert.equal(patternMatches("agent:broker:*", "agent:broker:telegram:direct:123"), true);
  assert.equal(patternMatches("agent:broker:*", "agent:brokerage:main"), false);
  assert.equal(patternMatches("agent:broker:*", "agent:broker"), false);
});

test("a bare * matches everything; other patterns match exactly", () => {
  assert.equal(patternMatches("*", "agent:x:main"), true);
  assert.equal(patternMatches("agent:x:main", "agent:x:main"), true);
  assert.equal(patternMatches("agent:x:main", "agent:x:main:thread:1"), false);
  assert.equal(patternMatches("agent:x*", "agent:xy:main"), false, "only a trailing ':*' is a wildcard");
});

test("no allowedTargets: every caller may reach every session", () => {
  assert.deepEqual(checkTarget(undefined, "anyone", "agent:x:main"), { ok: true });
});

test("a listed caller is limited to its patterns", () => {
  const allowed = { scheduler: ["agent:broker:*", "agent:ops:main"] };
  assert.deepEqual(checkTarget(allowed, "scheduler", "agent:broker:telegram:direct:1"), { ok: true });
  assert.deepEqual(checkTarget(allowed, "scheduler", "agent:ops:main"), { ok: true });
  const denied = checkTarget(allowed, "scheduler", "agent:ops:telegram:direct:1");
  assert.equal(denied.ok, false);
  assert.match(!denied.ok ? denied.reason : "", /may not reach agent:ops:telegram:direct:1/);
});

test("an unlisted caller falls back to the * entry, else is refused", () => {
  assert.deepEqual(checkTarget({ "*": ["agent:public:*"] }, "http", "agent:public:main"), { ok: true });
  assert.equal(checkTarget({ "*": ["agent:public:*"] }, "http", "agent:private:main").ok, false);
  const r = checkTarget({ scheduler: ["*"] }, "http", "agent:x:main");
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : "", /caller "http" has no entry/);
});

test("an empty list allows nothing; inherited object keys are not callers", () => {
  assert.equal(checkTarget({ a: [] }, "a", "agent:a:main").ok, false);
  assert.equal(checkTarget({ a: ["*"] }, "constructor", "agent:a:main").ok, false);
});
