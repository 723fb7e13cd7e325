import { test } from "node:test";
import assert from "node:assert/strict";
import { mayTakeTurn, type Caller } from "./caller.ts";
import { OWN_KEY_ID, TrustedCallers } from "./callers.ts";
import { createUserSeed, signerFromSeed } from "./nkey.ts";

const key = () => signerFromSeed(createUserSeed()).publicKey;
const cron = key();
const peer = key();
const own = key();
const callers = new TrustedCallers({ cron: { publicKey: cron }, peer: { publicKey: peer, agents: ["a"] } }, own);
const verified = (user: string) => ({ trust: "verified" as const, account: "$G", user });

test("a configured key is its caller; from may repeat the id and nothing else", () => {
  assert.deepEqual(callers.identify(verified(cron), "cron", "nats"), { ok: true, caller: { id: "cron", via: "nats", auth: "signature", key: cron } });
  assert.deepEqual(callers.identify(verified(cron), undefined, "agent-protocol"), { ok: true, caller: { id: "cron", via: "agent-protocol", auth: "signature", key: cron } });
  assert.deepEqual(callers.identify(verified(cron), "root", "nats"), { ok: false, code: 403, reason: 'from "root" does not match the signing caller "cron" (relay.callers)' });
});

test("a gateway key speaks for the agents listed; this gateway's own key for every agent", () => {
  assert.deepEqual(callers.identify(verified(peer), "a", "nats"), { ok: true, caller: { id: "a", via: "nats", auth: "signature", key: peer, vouchedBy: "peer" } });
  assert.equal(callers.identify(verified(peer), "b", "nats").ok, false);
  assert.equal(callers.identify(verified(peer), undefined, "nats").ok, false);
  assert.deepEqual(callers.identify(verified(own), "anyone", "nats"), { ok: true, caller: { id: "anyone", via: "nats", auth: "signature", key: own, vouchedBy: OWN_KEY_ID } });
  assert.match((callers.identify(verified(own), "Not An Agent", "nats") as { reason: string }).reason, /this gateway speaks for agents only/);
});

test("claims, absent senders and unknown keys are unauthenticated", () => {
  const stranger = key();
  assert.deepEqual(callers.identify({ trust: "claimed", account: "$G", user: cron }, "cron", "nats"), { ok: true, caller: { id: "cron", via: "nats", auth: "none" } });
  assert.deepEqual(callers.identify({ trust: "absent" }, undefined, "nats"), { ok: true, caller: { id: "anonymous", via: "nats", auth: "none" } });
  assert.deepEqual(callers.identify(verified(stranger), "x", "nats"), { ok: true, caller: { id: "x", via: "nats", auth: "none", key: stranger } });
});

test("mayTakeTurn: authentication first (401, or 403 for a verified stranger), then allowedTargets (403)", () => {
  const policy = { allowedTargets: { cron: ["agent:ops:*"] }, trustUnsignedCallers: false };
  const c: Caller = { id: "cron", via: "nats", auth: "signature", key: cron };
  assert.deepEqual(mayTakeTurn(c, "agent:ops:main", policy), { ok: true });
  assert.deepEqual(mayTakeTurn(c, "agent:billing:main", policy), { ok: false, code: 403, reason: 'caller "cron" may not reach agent:billing:main (relay.allowedTargets)' });
  const claimed: Caller = { id: "cron", via: "nats", auth: "none" };
  const refused = mayTakeTurn(claimed, "agent:ops:main", policy);
  assert.equal(!refused.ok && refused.code, 401);
  assert.match(!refused.ok ? refused.reason : "", /relay\.trustUnsignedCallers/);
  assert.equal(mayTakeTurn({ ...claimed, key: "U1" } as Caller, "agent:ops:main", policy).ok, false);
  assert.deepEqual(mayTakeTurn(claimed, "agent:ops:main", { ...policy, trustUnsignedCallers: true }), { ok: true }, "opt-in: the claimed id goes on to allowedTargets");
  assert.equal(mayTakeTurn(claimed, "agent:billing:main", { ...policy, trustUnsignedCallers: true }).ok, false);
  assert.deepEqual(mayTakeTurn({ id: "a", via: "tool", auth: "in-process" }, "agent:b:main", { trustUnsignedCallers: false }), { ok: true }, "no allowedTargets: every authenticated caller");
});
