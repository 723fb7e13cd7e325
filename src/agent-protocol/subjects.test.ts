import { test } from "node:test";
import assert from "node:assert/strict";
import { replyProblem } from "../shared/reply-safety.ts";
import { agentSubject, tokenProblem } from "./subjects.ts";

test("subjects are verb-first with the oc token (§2)", () => {
  assert.equal(agentSubject("prompt", { owner: "acme", name: "main" }), "agents.prompt.oc.acme.main");
  assert.equal(agentSubject("hb", { owner: "acme", name: "main" }), "agents.hb.oc.acme.main");
  assert.equal(agentSubject("status", { owner: "acme", name: "main" }), "agents.status.oc.acme.main");
});

test("token rules (§2.2)", () => {
  assert.equal(tokenProblem("ops-2_b"), undefined);
  assert.match(tokenProblem("") ?? "", /empty/);
  assert.match(tokenProblem("$sys") ?? "", /'\$'/);
  assert.match(tokenProblem("a.b") ?? "", /'\.'/);
  assert.match(tokenProblem("a b") ?? "", /whitespace/);
  assert.match(tokenProblem("a>") ?? "", /'>'/);
  assert.match(tokenProblem("Ops") ?? "", /a-z/);
  assert.match(tokenProblem("x".repeat(64)) ?? "", /1-63/);
});

test("reply subjects the gateway will not publish to", () => {
  assert.equal(replyProblem("_INBOX.abc.1"), undefined);
  assert.equal(replyProblem("my.replies.7"), undefined);
  assert.match(replyProblem("$KV.config.flag") ?? "", /system subject/);
  assert.match(replyProblem("$JS.API.STREAM.DELETE.X") ?? "", /system subject/);
  assert.match(replyProblem("agents.prompt.oc.acme.main") ?? "", /agent-protocol subject/);
  assert.equal(replyProblem("agentsx.y"), undefined);
});
