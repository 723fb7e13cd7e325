import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsSecurityAudit } from "./audit.ts";

const audit = (config: object, stateDir?: string) => natsSecurityAudit({ config: { plugins: { entries: { nats: { enabled: true, config } } } }, ...(stateDir ? { stateDir } : {}) });
const ids = (config: object) => audit(config).map((f) => `${f.checkId}:${f.severity}`);

test("the default config has one finding: no allowedTargets", () => {
  assert.deepEqual(ids({}), ["plugins.nats.relay.no_allowed_targets:warn"]);
  assert.deepEqual(ids({ relay: { allowedTargets: { a: ["agent:b:*"] } } }), []);
});

test("unsigned callers: critical without allowedTargets, warn with them", () => {
  assert.deepEqual(ids({ relay: { trustUnsignedCallers: true } }), ["plugins.nats.relay.unsigned_callers:critical", "plugins.nats.relay.no_allowed_targets:warn"]);
  assert.deepEqual(ids({ relay: { trustUnsignedCallers: true, allowedTargets: { a: ["*"] } } }), ["plugins.nats.relay.unsigned_callers:warn"]);
});

test("short tokens are named by field and length, never printed", () => {
  const findings = audit({ relay: { allowedTargets: {}, authToken: "short-but-legal-1", tokens: { cron: "x".repeat(40), ci: "ci-token-0123456789" } } });
  assert.deepEqual(findings.map((f) => f.detail), ["relay.authToken is 17 characters; POST /notify accepts it as a credential.", "relay.tokens.ci is 19 characters; POST /notify accepts it as a credential."]);
  assert.ok(!JSON.stringify(findings).includes("short-but-legal-1") && !JSON.stringify(findings).includes("ci-token-0123"));
});

test("plain nats:// or ws:// off loopback is flagged, with the URL's password redacted; tls:// and loopback are not", () => {
  const f = audit({ url: "nats://gw:hunter2@nats.internal:4222,tls://b:4222", relay: { allowedTargets: {} }, events: { agents: { ops: { url: "ws://10.0.0.5:8080" } } } });
  assert.deepEqual(f.map((x) => x.checkId), ["plugins.nats.connection.plaintext_remote", "plugins.nats.connection.plaintext_remote"]);
  assert.match(f[0]?.detail ?? "", /^url uses nats:\/\/\*\*\*@nats\.internal:4222:/);
  assert.match(f[1]?.detail ?? "", /^events\.agents\.ops\.url uses ws:\/\/10\.0\.0\.5:8080/);
  assert.ok(!JSON.stringify(f).includes("hunter2"));
  assert.deepEqual(ids({ url: "nats://127.0.0.1:4222,nats://localhost:4223,tls://remote:4222", relay: { allowedTargets: {} } }), []);
});

test("a group- or world-readable signing seed is flagged; a disabled plugin or none is not audited; a broken config says so", () => {
  const state = mkdtempSync(join(tmpdir(), "audit-"));
  mkdirSync(join(state, "plugins", "nats"), { recursive: true });
  const seed = join(state, "plugins", "nats", "identity.nk");
  writeFileSync(seed, "SU…\n");
  chmodSync(seed, 0o644);
  assert.deepEqual(audit({ relay: { allowedTargets: {} } }, state).map((f) => f.checkId), ["plugins.nats.trust.seed_file_readable"]);
  chmodSync(seed, 0o600);
  assert.deepEqual(audit({ relay: { allowedTargets: {} } }, state), []);
  assert.deepEqual(natsSecurityAudit({ config: {} }), []);
  assert.deepEqual(natsSecurityAudit({ config: { plugins: { entries: { nats: { enabled: false, config: { relay: { trustUnsignedCallers: true } } } } } } }), []);
  assert.deepEqual(ids({ relay: { timeoutMs: 5 } }), ["plugins.nats.config.invalid:warn"]);
});
