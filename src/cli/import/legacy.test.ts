import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../config/parse.ts";
import { mergeUnder, planImport } from "./legacy.ts";

const env = (files: Record<string, unknown> = {}) => ({
  home: "/home/op",
  readJson: (p: string) => {
    if (!(p in files)) throw new Error("ENOENT");
    return files[p];
  },
});

test("import: every key of the three old plugins and the core block is carried or listed with why; the result validates", () => {
  const plan = planImport(
    {
      gateway: { eventStore: { enabled: true, natsUrl: "nats://127.0.0.1:4222", agents: { ops: { url: "nats://ops:opspw@10.0.0.2:4222", streamName: "ops-events", subjectPrefix: "ops.events" } } } },
      plugins: {
        entries: {
          "nats-wake": { enabled: true, config: { enabled: true, url: "nats://wake:wakepw@127.0.0.1:4222", subjects: ["agent.*.inbox", "ops.>"], credentials: {}, reconnect: { maxAttempts: 5, delayMs: 500, maxDelayMs: 8000 }, defaultAgent: "ops", agentName: "nyx" } },
          "nats-eventstore": { enabled: true, config: { natsUrl: "nats://127.0.0.1:4222", streamName: "openclaw-events", subjectPrefix: "openclaw.events", retention: { maxMessages: -1, maxBytes: -1, maxAgeHours: 720 }, publishTimeoutMs: 5000, connectTimeoutMs: 5000, drainTimeoutMs: 5000, excludeHooks: ["message_sending"] } },
          "openclaw-agent-relay": { enabled: true, config: { authToken: "relay-token-0123456789", port: 18790, gatewayPort: 18789, gatewayToken: "gw-token-abc", allowedTargets: { broker: ["agent:support:*"] }, targetAliases: { b: "agent:broker:main" }, autoSign: { broker: false }, defaultTimezone: "Europe/Paris", mystery: 1 } },
        },
      },
    },
    env(),
  );
  assert.deepEqual(plan.plugins, ["nats-wake", "nats-eventstore", "openclaw-agent-relay"]);
  assert.deepEqual(plan.coreBlocks, ["gateway.eventStore"]);
  const cfg = parseConfig(plan.config);
  assert.equal(cfg.url, "nats://127.0.0.1:4222");
  assert.deepEqual(cfg.credentials, { user: "wake", pass: "wakepw" });
  assert.deepEqual(cfg.subjects, ["agent.*.inbox", "ops.>"]);
  assert.deepEqual(cfg.reconnect, { maxAttempts: 5, delayMs: 500, maxDelayMs: 8000 });
  assert.equal(cfg.defaultAgent, "ops");
  assert.equal(cfg.agentName, "nyx");
  assert.equal(cfg.events.retention.maxAgeHours, 720);
  assert.deepEqual(cfg.events.excludeHooks, ["message_sending"]);
  assert.deepEqual(cfg.events.agents.ops, { url: "nats://10.0.0.2:4222", credentials: { user: "ops", pass: "opspw" }, streamName: "ops-events", subjectPrefix: "ops.events" });
  assert.equal(cfg.relay.authToken, "relay-token-0123456789");
  assert.deepEqual(cfg.relay.allowedTargets, { broker: ["agent:support:*"] });
  assert.equal(plan.conversationAccess, true);
  const dropped = plan.dropped.map((d) => d.from).join("\n");
  for (const key of ["publishTimeoutMs", "connectTimeoutMs", "drainTimeoutMs", ".port", "gatewayPort", "gatewayToken", "targetAliases", "autoSign", "defaultTimezone", "mystery", "callers without an entry"]) {
    assert.ok(dropped.includes(key), `${key} is listed as not carried:\n${dropped}`);
  }
  assert.ok(!plan.carried.some((c) => c.to.includes("gatewayToken")));
});

test("import: nats-eventstore settings in its external file; a short relay token and a second server are not carried, with why", () => {
  const plan = planImport(
    {
      plugins: {
        entries: {
          "nats-wake": { config: { enabled: false, url: "nats://a:4222" } },
          "nats-eventstore": { enabled: true, config: { enabled: true } },
          "openclaw-agent-relay": { config: { authToken: "short" } },
        },
      },
    },
    env({ "/home/op/.openclaw/plugins/nats-eventstore/config.json": { natsUrl: "nats://b:4222", streamName: "evs" } }),
  );
  assert.equal((plan.config.events as { streamName: string }).streamName, "evs");
  assert.equal(plan.config.url, "nats://a:4222");
  const why = (k: string) => plan.dropped.find((d) => d.from.includes(k))?.why ?? "";
  assert.match(why("natsUrl"), /one server/);
  assert.match(why("authToken"), /16 characters/);
  assert.match(why("enabled"), /nats-wake was off/);
});

test("mergeUnder: what the operator already set wins, and each conflict is named", () => {
  const { merged, conflicts } = mergeUnder({ url: "nats://mine:4222", events: { streamName: "mine" } }, { url: "nats://old:4222", events: { streamName: "old", subjectPrefix: "p" } });
  assert.deepEqual(merged, { url: "nats://mine:4222", events: { streamName: "mine", subjectPrefix: "p" } });
  assert.deepEqual(conflicts.map((c) => c.from), ["url", "events.streamName"]);
});
