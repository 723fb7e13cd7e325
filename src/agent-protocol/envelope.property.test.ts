import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isSessionKey } from "../shared/session-key.ts";
import { isPublishableSubject } from "../shared/subjects.ts";
import { EXTENSION_FIELD, parseEnvelope } from "./envelope.ts";
import { replyProblem } from "../shared/reply-safety.ts";
import { tokenProblem } from "./subjects.ts";

// Prompt payloads and reply subjects come from any requester on the bus; subject tokens come from
// config and registration. Each check answers "valid" or a non-empty reason, and never throws.
const RUNS = 1_000;
const enc = new TextEncoder();

const nearEnvelope = fc.record(
  {
    prompt: fc.oneof(fc.string({ unit: "grapheme", maxLength: 80 }), fc.anything()),
    attachments: fc.oneof(fc.constant([]), fc.array(fc.jsonValue(), { maxLength: 2 }), fc.anything()),
    [EXTENSION_FIELD]: fc.oneof(
      fc.record({ sessionKey: fc.oneof(fc.stringMatching(/^agent:[a-z0-9]{1,6}:[!-~]{1,12}$/), fc.string(), fc.anything()), from: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,10}$/), fc.string(), fc.anything()), other: fc.jsonValue() }, { requiredKeys: [] }),
      fc.anything(),
    ),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

test("property: parseEnvelope never throws; a usable prompt or a non-empty error", (t) => {
  let cases = 0;
  let accepted = 0;
  const check = (data: Uint8Array): void => {
    cases++;
    const r = parseEnvelope(data);
    if (!r.ok) {
      assert.ok(typeof r.error === "string" && r.error.trim().length > 0);
      return;
    }
    accepted++;
    assert.ok(typeof r.envelope.prompt === "string" && r.envelope.prompt.trim().length > 0, "an accepted prompt is never blank");
    if (r.envelope.sessionKey !== undefined) assert.ok(isSessionKey(r.envelope.sessionKey));
    if (r.envelope.from !== undefined) assert.match(r.envelope.from, /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(b)), { numRuns: RUNS });
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => check(enc.encode(s))), { numRuns: RUNS });
  fc.assert(fc.property(nearEnvelope, fc.constantFrom("", " ", "\n\t"), (v, pad) => check(enc.encode(pad + JSON.stringify(v)))), { numRuns: RUNS });
  t.diagnostic(`parseEnvelope: ${cases} cases (${accepted} accepted)`);
  assert.equal(cases, 3 * RUNS);
  assert.ok(accepted > 0 && accepted < cases);
});

test("property: subject tokens and reply subjects: accepted ones are safe to publish, refused ones say why", (t) => {
  let cases = 0;
  const token = fc.oneof(fc.stringMatching(/^[a-z0-9_-]{1,70}$/), fc.string({ unit: "binary", maxLength: 70 }), fc.constantFrom("", "$sys", "a.b", "*", ">", "a b", "a\0b"));
  fc.assert(
    fc.property(token, (tok) => {
      cases++;
      const why = tokenProblem(tok);
      if (why !== undefined) return assert.ok(why.length > 0);
      assert.ok(isPublishableSubject(tok) && !tok.includes("."), `accepted token ${JSON.stringify(tok)} is one publishable token`);
      assert.ok(tok.length <= 63 && !tok.startsWith("$"));
    }),
    { numRuns: RUNS },
  );
  const reply = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.array(fc.stringMatching(/^[$A-Za-z0-9_*>-]{1,8}$/), { minLength: 1, maxLength: 5 }).map((p) => p.join(".")), fc.constantFrom("agents", "agents.prompt.oc.x.y", "$KV.b.k", "_INBOX.abc"));
  fc.assert(
    fc.property(reply, (r) => {
      cases++;
      const why = replyProblem(r);
      if (why !== undefined) return assert.ok(why.length > 0);
      assert.ok(!r.startsWith("$") && r !== "agents" && !r.startsWith("agents."), `reply ${JSON.stringify(r)} is no system or protocol subject`);
      assert.ok(!/[\s*>]/.test(r));
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`tokenProblem + replyProblem: ${cases} cases`);
  assert.equal(cases, 2 * RUNS);
});
