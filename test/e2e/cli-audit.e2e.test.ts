// `openclaw nats audit` through the real CLI: the risky settings of the plugin config, each with a fix,
// never a secret; and proof that the host's own `openclaw security audit` does not run the plugin's
// collector in this OpenClaw version (the reason the command exists).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";
import { createUserSeed } from "../../src/trust/nkey.ts";

type Finding = { checkId: string; severity: string; title: string; detail: string; remediation?: string };

const URL_PASS = "url-pass-Hq72k";
const SHORT_TOKEN = "short-token-9Lm4x"; // 17 characters: accepted by the schema, flagged by the audit
let pluginPath: string;
const homes: OpenClawHome[] = [];

before(() => {
  pluginPath = natsPlugin({}).path;
});
after(() => {
  for (const h of homes) h.dispose();
});

function home(natsConfig: object): OpenClawHome {
  const h = new OpenClawHome(cliConfig(pluginPath, natsConfig));
  homes.push(h);
  return h;
}

test("openclaw nats audit: unsigned callers, no allowedTargets, a short token, plain nats:// off loopback, a readable seed; exit 1, no secret printed", async () => {
  const h = home({});
  const seedFile = join(h.dir, "gw.nk");
  writeFileSync(seedFile, `${createUserSeed()}\n`);
  chmodSync(seedFile, 0o644);
  h.writeConfig(cliConfig(pluginPath, { url: `nats://ops:${URL_PASS}@10.20.30.40:4222`, relay: { trustUnsignedCallers: true, authToken: SHORT_TOKEN }, trust: { seedFile } }));
  const json = await h.run(["nats", "audit", "--json"]);
  assert.equal(json.code, 1, json.stderr);
  const out = jsonOut<{ ok: boolean; findings: Finding[] }>(json);
  assert.equal(out.ok, false);
  assert.deepEqual(out.findings.map((f) => `${f.severity} ${f.checkId}`).sort(), [
    "critical plugins.nats.relay.unsigned_callers",
    "warn plugins.nats.connection.plaintext_remote",
    "warn plugins.nats.relay.no_allowed_targets",
    "warn plugins.nats.relay.short_token",
    "warn plugins.nats.trust.seed_file_readable",
  ]);
  assert.ok(out.findings.every((f) => f.remediation), "every finding says how to fix it");
  const text = await h.runInProcess(["audit"]); // the real CLI ran the --json form above
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^CRITICAL plugins\.nats\.relay\.unsigned_callers: NATS relay open to unsigned callers$/m);
  assert.match(text.stdout, /nats:\/\/\*\*\*@10\.20\.30\.40:4222/);
  assert.match(text.stdout, /relay\.authToken is 17 characters/);
  for (const run of [json, text]) {
    for (const secret of [URL_PASS, SHORT_TOKEN]) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `${secret} is not printed`);
  }
});

test("openclaw nats audit: a safe config has no finding and exits 0", async () => {
  const h = home({ url: "tls://nats.example.com:4222", relay: { authToken: "a-long-random-token-0123456789abcdef", allowedTargets: { scheduler: ["agent:support:*"] } } });
  const run = await h.runInProcess(["audit"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /nats security audit: no risky settings found/);
});

test("openclaw security audit (the host's, OpenClaw 2026.9.6) does not run this plugin's collector: no plugins.nats finding, so `openclaw nats audit` is the way", async () => {
  const h = home({ url: "nats://10.20.30.40:4222", relay: { trustUnsignedCallers: true } });
  const run = await h.run(["security", "audit", "--json"], { timeoutMs: 240_000 });
  const out = jsonOut<{ findings: Finding[] }>(run);
  assert.ok(Array.isArray(out.findings) && out.findings.length > 0, "the host's audit ran");
  // If a later OpenClaw runs plugin collectors, this fails: then the docs' note and this test change.
  assert.deepEqual(out.findings.filter((f) => f.checkId.startsWith("plugins.nats.")), []);
});
