import { test } from "node:test";
import assert from "node:assert/strict";
import { natsCallerSessionKey } from "../shared/session-key.ts";
import type { Caller } from "../trust/caller.ts";
import { callerKey, describeCaller, inboxOwner } from "./caller.ts";

const USER = "UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT";
const anonymous: Caller = { id: "anonymous", via: "agent-protocol", auth: "none" };

test("the per-connection part of a muxed reply inbox identifies an unsigned caller", () => {
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO.17"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO.N3MBJILDJoUCJanSZbNlx9"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("_INBOX_alice.N3MBJILDJoUCJanSZbNliO.3"), "_INBOX_alice.N3MBJILDJoUCJanSZbNliO");
  // a bare inbox is one request; a hand-made reply subject is taken whole
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("replies.for.me"), "replies.for.me");
});

test("unsigned callers: same connection → same key, another connection → another; keys fit a session key", () => {
  const absent = { trust: "absent" } as const;
  const a1 = callerKey(absent, anonymous, "_INBOX.N3MBJILDJoUCJanSZbNliO.1");
  const a2 = callerKey(absent, anonymous, "_INBOX.N3MBJILDJoUCJanSZbNliO.2");
  const b = callerKey(absent, anonymous, "_INBOX.n3mbjildjoucjanszbnlio.1");
  assert.equal(a1, a2);
  assert.notEqual(a1, b, "inboxes differing only in case are different callers");
  assert.match(natsCallerSessionKey("main", a1), /^agent:main:nats:inbox-[0-9a-f]{32}$/);
});

test("a claimed identity keys nothing: the caller is still its inbox", () => {
  const key = callerKey({ trust: "claimed", account: "$G", user: USER }, anonymous, "_INBOX.N3MBJILDJoUCJanSZbNliO.1");
  assert.match(key, /^inbox-/);
});

test("a verified key is the caller's session, per agent when the key speaks for a gateway's agents", () => {
  const verified = { trust: "verified", account: "$G", user: USER } as const;
  const alice: Caller = { id: "alice", via: "agent-protocol", auth: "signature", key: USER };
  assert.equal(callerKey(verified, alice, "_INBOX.x.1"), USER.toLowerCase());
  const unknownKey: Caller = { id: USER, via: "agent-protocol", auth: "none", key: USER };
  assert.equal(callerKey(verified, unknownKey, "_INBOX.x.1"), USER.toLowerCase());
  const agentA: Caller = { id: "a", via: "agent-protocol", auth: "signature", key: USER, vouchedBy: "gw2" };
  const agentB: Caller = { ...agentA, id: "b" };
  assert.equal(callerKey(verified, agentA, "_INBOX.x.1"), `${USER.toLowerCase()}-a`);
  assert.notEqual(callerKey(verified, agentA, "_INBOX.x.1"), callerKey(verified, agentB, "_INBOX.x.1"));
  assert.match(natsCallerSessionKey("main", callerKey(verified, agentA, "r")), /^agent:main:nats:u[a-z2-7]{55}-a$/);
  assert.equal(describeCaller(agentA, "k"), `"a" (signed by ${USER} for gw2, k)`);
  assert.equal(describeCaller(anonymous, "k"), `"anonymous" (unauthenticated, k)`);
});
