import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "./parse.ts";

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.field}: ${p.message}`);
  }
  assert.fail("expected a ConfigError");
}

test("empty config gets every documented default", () => {
  const cfg = parseConfig(undefined);
  assert.equal(cfg.url, "nats://127.0.0.1:4222");
  assert.deepEqual(cfg.subjects, ["agent.*.inbox"]);
  assert.equal(cfg.defaultAgent, "main");
  assert.equal(cfg.maxBodyBytes, 65536);
  assert.equal(cfg.deadLetterSubject, "openclaw.nats.dlq");
  assert.deepEqual(cfg.reconnect, { maxAttempts: -1, delayMs: 1000, maxDelayMs: 30000 });
  assert.deepEqual(cfg.tool.allowedSubjects, ["agent.*.inbox", "system.>"]);
  assert.equal(cfg.inbox.durable, false);
  assert.equal(cfg.events.streamName, "openclaw-events");
  assert.equal(cfg.events.spool.maxBytes, 256 * 1024 * 1024);
  assert.equal(cfg.relay.authToken, undefined);
});

test("invalid fields are named with what is wrong", () => {
  assert.deepEqual(problemsOf({ url: "http://x" }), ['url: must match pattern "^(nats|tls|ws|wss)://[^\\s]+$"']);
  assert.deepEqual(problemsOf({ reconnect: { delayMs: "fast" } }), ["reconnect.delayMs: must be integer"]);
  assert.deepEqual(problemsOf({ bogus: 1 }), ["bogus: unknown field"]);
  assert.deepEqual(problemsOf({ credentials: { token: "t", user: "u", pass: "p" } }), [
    "credentials: choose one of token, user/pass, nkeySeed, credsFile (got token + user/pass)",
  ]);
  assert.deepEqual(problemsOf({ reconnect: { delayMs: 5000, maxDelayMs: 1000 } }), ["reconnect.maxDelayMs: must be >= reconnect.delayMs (5000)"]);
  assert.deepEqual(problemsOf({ defaultAgent: "a.b" }), ['defaultAgent: must match pattern "^[a-z0-9][a-z0-9_-]{0,63}$"']);
  assert.deepEqual(problemsOf("nope"), ["(root): must be an object"]);
});

test("ws and wss URLs and all credential kinds are accepted", () => {
  assert.equal(parseConfig({ url: "wss://nats.example:443" }).url, "wss://nats.example:443");
  assert.equal(parseConfig({ credentials: { nkeySeed: "SUAM" } }).credentials?.nkeySeed, "SUAM");
  assert.equal(parseConfig({ credentials: { credsFile: "/x.creds" } }).credentials?.credsFile, "/x.creds");
});

test("relay trust settings: defaults, and the problems the schema alone cannot see", () => {
  const cfg = parseConfig({});
  assert.equal(cfg.relay.trustUnsignedCallers, false);
  assert.deepEqual(cfg.relay.callers, {});
  assert.equal(cfg.relay.maxConcurrent, 8);
  assert.equal(cfg.relay.maxConcurrentPerSession, 1);
  assert.equal(cfg.relay.maxTimeoutMs, 600_000);
  assert.deepEqual(cfg.trust, { account: "$G", replayWindowMs: 30_000 });
  assert.equal(cfg.events.capture.toolContent, false);
  const key = "UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT";
  const bad = () =>
    parseConfig({
      relay: {
        timeoutMs: 700_000,
        callers: { a: { publicKey: key }, b: { publicKey: key }, c: { publicKey: "UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NU" } },
        authToken: "same-token-0123456789",
        tokens: { cron: "same-token-0123456789" },
      },
    });
  assert.throws(bad, (err: Error) => {
    assert.match(err.message, /relay\.timeoutMs: must be <= relay\.maxTimeoutMs \(600000\)/);
    assert.match(err.message, /relay\.callers\.b\.publicKey: same key as relay\.callers\.a/);
    assert.match(err.message, /relay\.callers\.c\.publicKey: is not a valid user NKEY/);
    assert.match(err.message, /relay\.tokens\.cron: same token as relay\.authToken/);
    assert.doesNotMatch(err.message, /same-token-0123/, "a token is never repeated in an error");
    return true;
  });
  assert.throws(() => parseConfig({ relay: { tokens: { "bad id!": "0123456789abcdefgh" } } }), /relay\.tokens/);
  assert.throws(() => parseConfig({ relay: { tokens: { cron: "short" } } }), /relay\.tokens\.cron/);
  assert.throws(() => parseConfig({ relay: { callers: { peer: { publicKey: key, agents: ["Not-An-Agent"] } } } }), /relay\.callers\.peer\.agents/);
});
