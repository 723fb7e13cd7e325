import { test } from "node:test";
import assert from "node:assert/strict";
import { checkFields, HttpNotifyBody, NotifyParameters } from "./request.ts";

test("a seed-style request passes", () => {
  const body = { sessionKey: "agent:support:telegram:direct:123456", message: "Morning check" };
  assert.deepEqual(checkFields(HttpNotifyBody, body), { ok: true, value: body });
  assert.deepEqual(checkFields(NotifyParameters, { ...body, channel: "telegram", to: "123456" }).ok, true);
});

test("missing, malformed and unknown fields are named", () => {
  assert.deepEqual(checkFields(HttpNotifyBody, { message: "x" }), { ok: false, error: "missing sessionKey" });
  assert.deepEqual(checkFields(HttpNotifyBody, { sessionKey: "main", message: "x" }), { ok: false, error: "sessionKey: must look like agent:<agentId>:<rest>" });
  assert.deepEqual(checkFields(HttpNotifyBody, { sessionKey: "agent:a:main", message: "" }), { ok: false, error: "message: must be a non-empty string" });
  assert.deepEqual(checkFields(HttpNotifyBody, { sessionKey: "agent:a:main", message: "x", callerAgent: "a" }), { ok: false, error: "unknown field callerAgent" });
});

test("from is an HTTP-only field; non-objects are refused", () => {
  assert.equal(checkFields(HttpNotifyBody, { sessionKey: "agent:a:main", message: "x", from: "cron" }).ok, true);
  assert.equal(checkFields(NotifyParameters, { sessionKey: "agent:a:main", message: "x", from: "cron" }).ok, false);
  assert.deepEqual(checkFields(HttpNotifyBody, [1]), { ok: false, error: "body must be a JSON object" });
  assert.deepEqual(checkFields(HttpNotifyBody, null), { ok: false, error: "body must be a JSON object" });
});
