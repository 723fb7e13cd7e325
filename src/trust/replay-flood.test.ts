import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { headers } from "@nats-io/transport-node";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { createUserSeed, signerFromSeed, type SenderSigner } from "./nkey.ts";
import { AGENT_SENDER_HEADER } from "./sender-header.ts";
import { signSender } from "./sender.ts";
import { Trust } from "./trust.ts";

// The nonce set is bounded (oldest out first). Before the fix every verified key spent it, so a
// stranger's flood of validly signed messages pushed a trusted caller's pair out and its replay passed.
// The flood is capacity + 1 messages through the real Trust.verify (real Ed25519, ~0.4 ms per verify
// here): 100,000 signed messages at the production capacity would take ~40 s, so the test lowers the
// capacity instead; the property (a flood larger than the whole set evicts no trusted pair) is the same.
const CAPACITY = 2_000;
const SUBJECT = "agent.ops.inbox";
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };

function message(signer: SenderSigner, payload: Uint8Array, nonce?: string) {
  const h = headers();
  h.set(AGENT_SENDER_HEADER, signSender({ signer, account: "$G", subject: SUBJECT, payload, ...(nonce ? { nonce } : {}) }));
  return { subject: SUBJECT, data: payload, headers: h };
}

function trustWith(alice: SenderSigner): Trust {
  const cfg = parseConfig({ relay: { callers: { alice: { publicKey: alice.publicKey } } } });
  return new Trust(cfg, mkdtempSync(join(tmpdir(), "replay-flood-")), quiet, { nonceCapacity: CAPACITY });
}

test("a flood of untrusted signed messages larger than the nonce set does not reopen a trusted (or own-key) replay", (t) => {
  const alice = signerFromSeed(createUserSeed());
  const stranger = signerFromSeed(createUserSeed());
  const trust = trustWith(alice);
  const own = trust.identity?.signer;
  assert.ok(own, "the gateway has its own identity");
  const payload = new TextEncoder().encode('{"from":"alice","body":"pay 100"}');
  const fromAlice = message(alice, payload);
  const fromSelf = message(own, payload);
  assert.equal(trust.verify(fromAlice).trust, "verified");
  assert.equal(trust.verify(fromSelf).trust, "verified");

  const junk = new TextEncoder().encode('{"from":"x","body":"junk"}');
  let verified = 0;
  for (let i = 0; i <= CAPACITY; i++) if (trust.verify(message(stranger, junk, `flood-${i}`)).trust === "verified") verified++;
  assert.equal(verified, CAPACITY + 1, "the flood is validly signed (an unknown key still verifies; it is granted nothing)");
  t.diagnostic(`untrusted signed messages in the flood: ${verified} (nonce set capacity ${CAPACITY})`);

  for (const [who, m] of [["trusted caller", fromAlice], ["own key", fromSelf]] as const) {
    const replay = trust.verify(m);
    assert.equal(replay.trust, "rejected", `${who}: replay after the flood must be refused, got ${JSON.stringify(replay)}`);
    if (replay.trust === "rejected") assert.match(replay.reason, /nonce already seen .*replay/);
  }
});

test("trusted keys still spend the set: a replay by a trusted caller is refused, a fresh nonce passes", () => {
  const alice = signerFromSeed(createUserSeed());
  const trust = trustWith(alice);
  const payload = new TextEncoder().encode('{"from":"alice","body":"hi"}');
  const m = message(alice, payload);
  assert.equal(trust.verify(m).trust, "verified");
  assert.equal(trust.verify(m).trust, "rejected");
  assert.equal(trust.verify(message(alice, payload)).trust, "verified");
});
