import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackoff } from "./backoff.ts";
import { authOptions, dialTarget } from "./options.ts";
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
  assert.match(shown, /"path":"\/alertmanager"/);
});

test("configSecrets finds every credential in the config; the redacting logger removes them from every line", async () => {
  const { configSecrets, redactingLogger } = await import("./redact.ts");
  const cfg = {
    url: "nats://gw:pa%24s@h1:4222,nats://tok-in-url@h2:4222",
    credentials: { token: "cred-token-1" },
    events: { agents: { ops: { url: "tls://u:agent-pass@h3", credentials: { nkeySeed: "SUAGENTSEEDXYZ" } } } },
    relay: { authToken: "relay-auth-token-123", tokens: { cron: "cron-token-45678901" } },
  };
  const secrets = configSecrets(cfg);
  for (const s of ["pa%24s", "pa$s", "tok-in-url", "cred-token-1", "agent-pass", "SUAGENTSEEDXYZ", "relay-auth-token-123", "cron-token-45678901"]) assert.ok(secrets.includes(s), s);
  const lines: string[] = [];
  const log = redactingLogger({ info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) }, secrets);
  log.warn(`cannot connect to ${cfg.url}: bad pass pa$s`);
  log.error("header Authorization: Bearer cron-token-45678901 refused");
  log.info("seed SUAGENTSEEDXYZ token cred-token-1");
  assert.deepEqual(lines, ["cannot connect to nats://***@h1:4222,nats://***@h2:4222: bad pass ***", "header Authorization: Bearer *** refused", "seed *** token ***"]);
  assert.equal(redactUrl("nats://a:b@h1,nats://c:d@h2"), "nats://***@h1,nats://***@h2");
});

test("user-info in the URL is dialled as credentials (nats.js ignores it in server URLs); explicit credentials win", () => {
  assert.deepEqual(dialTarget("nats://ops:p%40ss@h1:4222, nats://h2:4222"), { servers: ["nats://h1:4222", "nats://h2:4222"], credentials: { user: "ops", pass: "p@ss" } });
  assert.deepEqual(dialTarget("tls://s3cr3t-token@h:4222"), { servers: ["tls://h:4222"], credentials: { token: "s3cr3t-token" } });
  assert.deepEqual(dialTarget("nats://h:4222"), { servers: ["nats://h:4222"] });
  assert.deepEqual(dialTarget("nats://ops:pw@h:4222", { token: "tok" }), { servers: ["nats://h:4222"], credentials: { token: "tok" } });
  assert.deepEqual(authOptions({ credentials: dialTarget("ws://u:p@h:8080").credentials }), { user: "u", pass: "p" });
});
