// `openclaw nats server|setup|import-config|uninstall` through the real CLI, on real config files
// and real nats-servers (no gateway needed: these commands work on the config and on NATS).
// (The import-config half of cli-setup, in a file of its own so the two CLI-bound halves run side by side.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../harness/free-port.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";
import { Spool } from "../../src/spool/spool.ts";
import { newEventId } from "../../src/events/envelope.ts";
import { server, PASSWORD, pluginPath, track, useSetupServer } from "./setup-fixture.ts";

useSetupServer();

test("import-config: old nats-wake, nats-eventstore (settings in its own file) and openclaw-agent-relay entries become plugins.entries.nats; the old ones are disabled; what cannot be carried is listed; no secret printed", async () => {
  const relayToken = "relay-token-Vb0123456789";
  const gatewayCopy = "gw-token-copy-Nm42";
  const h = track(
    new OpenClawHome(`{
  // before: three plugins
  gateway: { mode: "local", bind: "loopback", port: 1, auth: { mode: "token", token: "t0ken-for-the-cli-tests" } },
  plugins: {
    load: { paths: [${JSON.stringify(pluginPath)}] },
    entries: {
      "nats-wake": { enabled: true, config: { enabled: true, url: "nats://ops:${PASSWORD}@127.0.0.1:${server.port}", subjects: ["agent.*.inbox", "ops.alerts"], reconnect: { maxAttempts: -1, delayMs: 500, maxDelayMs: 10000 }, defaultAgent: "ops", agentName: "nyx" } },
      "nats-eventstore": { enabled: true, config: { enabled: true } },
      "openclaw-agent-relay": { enabled: true, config: { authToken: "${relayToken}", gatewayToken: "${gatewayCopy}", port: 18790, allowedTargets: { broker: ["agent:support:*"] }, targetAliases: { support: "agent:support:main" } } },
    },
  },
}
`),
  );
  // nats-eventstore ≥ 0.2 keeps its settings in ~/.openclaw/plugins/nats-eventstore/config.json.
  mkdirSync(join(h.home, ".openclaw", "plugins", "nats-eventstore"), { recursive: true });
  writeFileSync(join(h.home, ".openclaw", "plugins", "nats-eventstore", "config.json"), JSON.stringify({ natsUrl: `nats://ops:${PASSWORD}@127.0.0.1:${server.port}`, streamName: "agent-events", subjectPrefix: "agent.events", retention: { maxAgeHours: 720 }, publishTimeoutMs: 3000, excludeHooks: ["message_sending"] }));

  const dry = await h.runInProcess(["import-config", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  jsonOut(dry); // --dry-run --json too: one JSON document on stdout
  assert.ok(!h.readConfig().includes('"nats":'), "--dry-run writes nothing");

  const run = await h.run(["nats", "import-config", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const out = jsonOut<{ carried: Array<{ from: string; to: string }>; notCarried: Array<{ from: string; why: string }>; disabled: string[] }>(run);
  const text = (await h.runInProcess(["import-config", "--dry-run"])).stdout + run.stdout + run.stderr + dry.stdout;
  for (const secret of [PASSWORD, relayToken, gatewayCopy]) assert.ok(!text.includes(secret), `${secret.slice(0, 6)}… is not printed`);
  assert.deepEqual(out.disabled, ["nats-wake", "nats-eventstore", "openclaw-agent-relay"]);
  const why = (k: string) => out.notCarried.find((d) => d.from.includes(k))?.why ?? "";
  assert.match(why("publishTimeoutMs"), /5 s/);
  assert.match(why("gatewayToken"), /not needed/);
  assert.match(why(".port"), /gateway's own port/);
  assert.match(why("targetAliases"), /sessionKey/);
  assert.match(why("callers without an entry"), /"\*": \["\*"\]/);

  const cfg = JSON.parse(h.readConfig()) as Record<string, any>;
  for (const id of ["nats-wake", "nats-eventstore", "openclaw-agent-relay"]) assert.equal(cfg.plugins.entries[id].enabled, false, `${id} is disabled`);
  assert.deepEqual(cfg.plugins.entries.nats, {
    enabled: true,
    hooks: { allowConversationAccess: true },
    config: {
      url: `nats://127.0.0.1:${server.port}`,
      credentials: { user: "ops", pass: PASSWORD },
      subjects: ["agent.*.inbox", "ops.alerts"],
      reconnect: { maxAttempts: -1, delayMs: 500, maxDelayMs: 10000 },
      defaultAgent: "ops",
      agentName: "nyx",
      events: { enabled: true, streamName: "agent-events", subjectPrefix: "agent.events", retention: { maxAgeHours: 720 }, excludeHooks: ["message_sending"] },
      relay: { authToken: relayToken, allowedTargets: { broker: ["agent:support:*"] } },
    },
  });
  // The written config is one the plugin can run with: doctor connects with the carried credentials.
  const doctor = jsonOut<{ checks: Array<{ title: string; status: string }> }>(await h.runInProcess(["doctor", "--json"]));
  assert.equal(doctor.checks.find((c) => c.title === "credentials")?.status, "ok");
});

test("import-config --from: the core gateway.eventStore block (which today's host refuses to load) is read from an old copy", async () => {
  const h = track(new OpenClawHome(cliConfig(pluginPath, {})));
  const old = join(h.dir, "openclaw.json.bak");
  writeFileSync(
    old,
    `{ gateway: { port: 1, eventStore: { enabled: true, natsUrl: "nats://127.0.0.1:${server.port}", streamName: "fork-events", subjectPrefix: "fork.events",
        agents: { viola: { natsUrl: "nats://viola:viola-pass-Qw9@127.0.0.1:${server.port}", streamName: "events-viola", subjectPrefix: "fork.events.viola" } } } } }`,
  );
  // Today's host refuses a config that still has the block, so no plugin command could run with it.
  const refused = track(new OpenClawHome(readFileSync(old, "utf8")));
  const r = await refused.run(["nats", "status"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /Unrecognized key: "eventStore"/);

  const run = await h.run(["nats", "import-config", "--from", old]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!run.stdout.includes("viola-pass-Qw9"));
  const cfg = JSON.parse(h.readConfig()) as Record<string, any>;
  assert.deepEqual(cfg.plugins.entries.nats.config.events, {
    enabled: true,
    streamName: "fork-events",
    subjectPrefix: "fork.events",
    agents: { viola: { url: `nats://127.0.0.1:${server.port}`, credentials: { user: "viola", pass: "viola-pass-Qw9" }, streamName: "events-viola", subjectPrefix: "fork.events.viola" } },
  });
  assert.equal(cfg.plugins.entries.nats.config.url, `nats://127.0.0.1:${server.port}`);
});
