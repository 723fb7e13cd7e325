import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/parse.ts";
import { agentProtocolSettings, resolveAgents } from "./register.ts";

function logger() {
  const warnings: string[] = [];
  return { warnings, log: { info: () => {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) } };
}

test("every hosted agent by default, under its id", () => {
  const { log, warnings } = logger();
  const cfg = parseConfig({ agentProtocol: { enabled: true, owner: "acme" } });
  assert.deepEqual(resolveAgents(cfg, ["main", "ops"], log), [
    { agentId: "main", owner: "acme", name: "main" },
    { agentId: "ops", owner: "acme", name: "ops" },
  ]);
  assert.deepEqual(warnings, []);
});

test("a listed agent the gateway does not host, a bad name and a name clash are skipped with a reason", () => {
  const { log, warnings } = logger();
  const long = "a".repeat(64);
  const cfg = parseConfig({ agentProtocol: { enabled: true, agents: ["main", "ghost", "ops", long], names: { ops: "main" } } });
  assert.deepEqual(resolveAgents(cfg, ["main", "ops", long], log), [{ agentId: "main", owner: "default", name: "main" }]);
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /lists "ghost", which this gateway does not host \(hosted: main, ops, a+\)/);
  assert.match(warnings[1], /"main" and "ops" would both be named "main"/);
  assert.match(warnings[2], /cannot be registered as name "a+": must be 1-63 characters/);
});

test("settings: the relay's timeout and limits apply; the plugin version is the service version", () => {
  const cfg = parseConfig({ relay: { timeoutMs: 30_000, maxConcurrent: 3, maxConcurrentPerSession: 2 }, agentProtocol: { enabled: true, maxPayload: "64KB", keepAliveS: 5, minSenderTrust: "signed" } });
  const s = agentProtocolSettings(cfg, "0.1.0");
  assert.deepEqual([s.timeoutMs, s.maxTimeoutMs, s.maxConcurrent, s.maxConcurrentPerSession, s.minSenderTrust], [30_000, 600_000, 3, 2, "signed"]);
  assert.equal(s.maxPayloadBytes, 64 * 1024);
  assert.equal(s.keepAliveMs, 5000);
  assert.equal(s.version, "0.1.0");
  assert.equal(agentProtocolSettings(cfg, undefined).version, "0.0.0");
});

test("config: off by default, and bad values are named", () => {
  assert.equal(parseConfig({}).agentProtocol.enabled, false);
  assert.throws(() => parseConfig({ agentProtocol: { owner: "Acme Corp" } }), /agentProtocol\.owner/);
  assert.throws(() => parseConfig({ agentProtocol: { keepAliveS: 45 } }), /agentProtocol\.keepAliveS/);
  assert.throws(() => parseConfig({ agentProtocol: { maxPayload: "1 MB" } }), /agentProtocol\.maxPayload/);
  assert.throws(() => parseConfig({ agentProtocol: { minSenderTrust: "verified" } }), /agentProtocol\.minSenderTrust/);
});
