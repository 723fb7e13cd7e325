import { test } from "node:test";
import assert from "node:assert/strict";
import { natsCallerSessionKey } from "../shared/session-key.ts";
import { callerOf, inboxOwner, UNSIGNED_CALLER } from "./caller.ts";

test("the per-connection part of a muxed reply inbox identifies an unsigned caller", () => {
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO.17"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO.N3MBJILDJoUCJanSZbNlx9"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("_INBOX_alice.N3MBJILDJoUCJanSZbNliO.3"), "_INBOX_alice.N3MBJILDJoUCJanSZbNliO");
  // a bare inbox is one request; a hand-made reply subject is taken whole
  assert.equal(inboxOwner("_INBOX.N3MBJILDJoUCJanSZbNliO"), "_INBOX.N3MBJILDJoUCJanSZbNliO");
  assert.equal(inboxOwner("replies.for.me"), "replies.for.me");
});

test("unsigned callers: same connection → same key, another connection → another; keys fit a session key", () => {
  const absent = { kind: "absent" } as const;
  const a1 = callerOf(absent, "_INBOX.N3MBJILDJoUCJanSZbNliO.1");
  const a2 = callerOf(absent, "_INBOX.N3MBJILDJoUCJanSZbNliO.2");
  const b = callerOf(absent, "_INBOX.n3mbjildjoucjanszbnlio.1");
  assert.equal(a1.key, a2.key);
  assert.notEqual(a1.key, b.key, "inboxes differing only in case are different callers");
  assert.equal(a1.id, UNSIGNED_CALLER);
  assert.equal(a1.verified, false);
  assert.match(natsCallerSessionKey("main", a1.key), /^agent:main:nats:inbox-[0-9a-f]{32}$/);
});

test("claimed identities grant nothing: the caller is still told apart by its inbox", () => {
  const claimed = callerOf({ kind: "claimed", user: "UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT", name: "x" }, "_INBOX.N3MBJILDJoUCJanSZbNliO.1");
  assert.equal(claimed.id, UNSIGNED_CALLER);
  assert.match(claimed.key, /^inbox-/);
});

test("verified senders are their user NKEY, lowercased for the session key", () => {
  const user = "UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT";
  const c = callerOf({ kind: "verified", account: "ACME", user }, "_INBOX.whatever.1");
  assert.deepEqual(c, { id: user, key: user.toLowerCase(), verified: true });
  assert.equal(natsCallerSessionKey("main", c.key), `agent:main:nats:${user.toLowerCase()}`);
});
