import { test } from "node:test";
import assert from "node:assert/strict";
import { isPublishableSubject, subjectMatches } from "./subjects.ts";

test("subject wildcards follow NATS rules", () => {
  assert.ok(subjectMatches("agent.*.inbox", "agent.main.inbox"));
  assert.ok(!subjectMatches("agent.*.inbox", "agent.main.x.inbox"));
  assert.ok(subjectMatches("system.>", "system.a.b"));
  assert.ok(!subjectMatches("system.>", "system"));
  assert.ok(subjectMatches("a.b", "a.b"));
  assert.ok(!subjectMatches("a.b", "a.b.c"));
  assert.ok(subjectMatches(">", "$JS.API.INFO"));
});

test("publishable subjects have no wildcards or empty tokens", () => {
  assert.ok(isPublishableSubject("agent.main.inbox"));
  assert.ok(!isPublishableSubject("agent.*.inbox"));
  assert.ok(!isPublishableSubject("agent..inbox"));
  assert.ok(!isPublishableSubject("a b"));
  assert.ok(!isPublishableSubject(""));
});
