import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackoff } from "./backoff.ts";
import { authOptions } from "./options.ts";
import { redactSecrets, redactUrl } from "./redact.ts";

test("URLs and error text never show credentials", () => {
  assert.equal(redactUrl("nats://alice:s3cret@nats.example:4222"), "nats://***@nats.example:4222");
  assert.equal(redactUrl("nats://nats.example:4222"), "nats://nats.example:4222");
  assert.equal(redactSecrets("auth failed for tls://bob:pw@h:1 with token tok-123", ["tok-123"]), "auth failed for tls://***@h:1 with token ***");
});

test("backoff doubles from delayMs to maxDelayMs with up to 20 % jitter, and resets", () => {
  const b = createBackoff(100, 1000, () => 0);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
  b.reset();
  assert.equal(b.next(), 100);
  assert.equal(createBackoff(100, 1000, () => 1).next(), 120);
});

test("credentials map to nats.js options", () => {
  assert.deepEqual(authOptions({ credentials: { token: "t" } }), { token: "t" });
  assert.deepEqual(authOptions({ credentials: { user: "u", pass: "p" } }), { user: "u", pass: "p" });
  assert.equal(typeof authOptions({ credentials: { nkeySeed: "SUAM" } }).authenticator, "function");
  assert.deepEqual(authOptions({ tls: { caFile: "/ca.pem" } }), { tls: { caFile: "/ca.pem" } });
});

test("redactConfig hides every secret of a full config and keeps the rest", async () => {
  const { parseConfig } = await import("../config/parse.ts");
  const { redactConfig } = await import("./redact.ts");
  const secrets = ["tok-AAAA1111", "pw-BBBB2222", "relay-secret-0123456789", "am-secret-0123456789ab", "agent-tok-CCCC"];
  const cfg = parseConfig({
    url: "nats://alice:pw-BBBB2222@nats.example:4222",
    credentials: { token: "tok-AAAA1111" },
    relay: { authToken: "relay-secret-0123456789" },
    alertmanager: { authToken: "am-secret-0123456789ab" },
    events: { agents: { ops: { credentials: { user: "ops", pass: "agent-tok-CCCC" } } } },
  });
  const shown = JSON.stringify(redactConfig(cfg));
  for (const s of secrets) assert.ok(!shown.includes(s), `${s} leaked`);
  assert.match(shown, /"url":"nats:\/\/\*\*\*@nats\.example:4222"/);
  assert.match(shown, /"user":"ops"/);
  assert.match(shown, /"authToken":"\*\*\*"/);
  assert.equal(redactConfig(cfg).alertmanager.path, "/alertmanager");
});
