import { test } from "node:test";
import assert from "node:assert/strict";
import { checkToolSubject, resolveToolSubject } from "./subject-policy.ts";

const defaults = ["agent.*.inbox", "system.>"];

test("to is shorthand for agent.<to>.inbox", () => {
  assert.equal(resolveToolSubject({ to: "ops" }), "agent.ops.inbox");
  assert.equal(resolveToolSubject({ subject: "system.alerts" }), "system.alerts");
  assert.throws(() => resolveToolSubject({}), /subject or to is required/);
  assert.throws(() => resolveToolSubject({ to: "a.b" }), /not an agent id/);
  assert.throws(() => resolveToolSubject({ to: "a", subject: "b" }), /not both/);
});

test("allowedSubjects limit the tool; system subjects need an explicit pattern", () => {
  checkToolSubject("agent.ops.inbox", defaults);
  checkToolSubject("system.alerts.cpu", defaults);
  assert.throws(() => checkToolSubject("other.x", defaults), /not allowed/);
  assert.throws(() => checkToolSubject("agent.*.inbox", defaults), /not a publishable subject/);
  assert.throws(() => checkToolSubject("$JS.API.STREAM.DELETE.x", [">"]), /not allowed/);
  assert.throws(() => checkToolSubject("_INBOX.abc", [">"]), /not allowed/);
  checkToolSubject("$KV.bucket.key", ["$KV.bucket.>"]);
  checkToolSubject("anything.at.all", [">"]);
});
