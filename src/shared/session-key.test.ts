import { test } from "node:test";
import assert from "node:assert/strict";
import { agentOfSessionKey, conversationKind, isAgentId, isSessionKey, mainSessionKey, restOfSessionKey } from "./session-key.ts";

test("session keys parse and build in one place", () => {
  assert.equal(mainSessionKey("ops"), "agent:ops:main");
  assert.equal(agentOfSessionKey("agent:ops:telegram:direct:42"), "ops");
  assert.equal(agentOfSessionKey("agent:ops"), "ops");
  assert.equal(agentOfSessionKey("agent::main"), undefined);
  assert.equal(agentOfSessionKey("hook:x"), undefined);
  assert.equal(agentOfSessionKey(undefined), undefined);
  assert.equal(restOfSessionKey("agent:ops:telegram:direct:42"), "telegram:direct:42");
  assert.equal(restOfSessionKey("agent:ops"), undefined);
  assert.ok(isSessionKey("agent:ops:main"));
  assert.ok(!isSessionKey("agent:Ops:main"));
  assert.ok(!isSessionKey("agent:ops:"));
  assert.ok(!isSessionKey(`agent:ops:${"x".repeat(600)}`));
  assert.ok(isAgentId("ops-2_b"));
  assert.ok(!isAgentId("a.b"));
});

test("conversationKind follows the host's session key shapes", () => {
  assert.equal(conversationKind("agent:ops:main"), "main");
  assert.equal(conversationKind("agent:ops:direct:alice"), "direct");
  assert.equal(conversationKind("agent:ops:telegram:direct:42"), "direct");
  assert.equal(conversationKind("agent:ops:telegram:acct1:direct:42"), "direct");
  assert.equal(conversationKind("agent:ops:telegram:group:-100"), "group");
  assert.equal(conversationKind("agent:ops:discord:group:7:thread:9"), "group");
  assert.equal(conversationKind("agent:ops:slack:channel:C1"), "channel");
  assert.equal(conversationKind("agent:ops:cron:nightly"), "other");
  assert.equal(conversationKind("hook:x"), "other");
});
