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
