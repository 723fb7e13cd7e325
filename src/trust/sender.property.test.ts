import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { headers } from "@nats-io/transport-node";
import { createUserSeed, signerFromSeed } from "./nkey.ts";
import { NonceCache } from "./nonce-cache.ts";
import { AGENT_SENDER_HEADER } from "./sender-header.ts";
import { signSender, verifySender, type SenderCheck } from "./sender.ts";

// The Agent-Sender header is sender-written. verifySender must classify any value without throwing
// (a rejection carries its reason), and no change to a signed message may leave it "verified".
const RUNS = 1_000;
const SUBJECT = "agent.ops.inbox";
const signer = signerFromSeed(createUserSeed());
const enc = new TextEncoder();

function classify(value: string, data: Uint8Array, subject = SUBJECT): SenderCheck {
  const h = headers();
  h.set(AGENT_SENDER_HEADER, value);
  return verifySender({ subject, data, headers: h }, { mode: "live", nonces: new NonceCache(30_000) });
}

function wellFormed(c: SenderCheck): void {
  if (c.trust === "rejected") assert.ok(c.reason.trim().length > 0 && (c.code === 400 || c.code === 401));
}

const field = fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue(), fc.constantFrom("$G", signer.publicKey, "2026-08-28T12:00:00Z", "A".repeat(86)));
const nearHeader = fc.record({ v: fc.oneof(fc.constant(1), fc.jsonValue()), account: field, user: field, name: field, sub: field, ts: field, nonce: field, sig: field }, { requiredKeys: [] });

test("property: any Agent-Sender value is classified without a throw; a rejection says why", (t) => {
  let cases = 0;
  const run = (value: string): void => {
    cases++;
    wellFormed(classify(value, enc.encode("{}")));
  };
  // A header value on the wire cannot hold CR or LF (the NATS client refuses to build one), so the
  // generators leave those out; every other string is fair game.
  const onWire = (s: string): string => s.replace(/[\r\n]/g, " ");
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => run(onWire(s))), { numRuns: RUNS });
  fc.assert(fc.property(nearHeader, (h) => run(onWire(JSON.stringify(h)))), { numRuns: RUNS });
  t.diagnostic(`verifySender on arbitrary headers: ${cases} cases`);
  assert.equal(cases, 2 * RUNS);
});

test("property: a signed message changed in any field, payload or subject never verifies (no forged sender)", (t) => {
  let cases = 0;
  let verifiedOriginals = 0;
  const payload = fc.uint8Array({ minLength: 0, maxLength: 64 });
  const change = fc.oneof(
    fc.record({ kind: fc.constant("field" as const), key: fc.constantFrom("account", "user", "sub", "ts", "nonce", "sig"), value: fc.oneof(fc.string({ maxLength: 90 }), fc.jsonValue()) }),
    fc.record({ kind: fc.constant("payload" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }), extra: fc.uint8Array({ maxLength: 4 }) }),
    fc.record({ kind: fc.constant("subject" as const), subject: fc.stringMatching(/^[a-z]{1,6}(\.[a-z]{1,6}){0,3}$/) }),
  );
  fc.assert(
    fc.property(payload, change, (data, ch) => {
      cases++;
      const value = signSender({ signer, account: "$G", subject: SUBJECT, payload: data });
      const orig = classify(value, data);
      assert.equal(orig.trust, "verified");
      verifiedOriginals++;
      let out: SenderCheck;
      if (ch.kind === "field") {
        const h = JSON.parse(value) as Record<string, unknown>;
        if (JSON.stringify(h[ch.key]) === JSON.stringify(ch.value)) return;
        h[ch.key] = ch.value;
        out = classify(JSON.stringify(h), data);
      } else if (ch.kind === "payload") {
        const d = new Uint8Array([...data, ...ch.extra]);
        if (d.length === 0) return;
        if (ch.extra.length === 0) d[ch.at % d.length]! ^= ch.xor;
        out = classify(value, d);
      } else {
        if (ch.subject === SUBJECT) return;
        out = classify(value, data, ch.subject);
      }
      wellFormed(out);
      assert.notEqual(out.trust, "verified", `changed ${ch.kind} still verified: ${JSON.stringify(ch)}`);
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`tampered signed messages: ${cases} cases, ${verifiedOriginals} originals verified, 0 tampered verified`);
  assert.equal(cases, RUNS);
});
