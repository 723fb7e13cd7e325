import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../config/parse.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStateNames } from "../shared/process-state.ts";
import type { WakeHost } from "../wake/host.ts";
import { acquireRuntime, configKeyOf } from "./shared-runtime.ts";

test("the runtime's process-wide key names the config without holding its secrets", () => {
  const secret = "pa55-word-that-must-not-be-a-key";
  const key = configKeyOf(parseConfig({ credentials: { user: "gw", pass: secret } }));
  assert.ok(!key.includes(secret) && !key.includes("gw"), key);
  assert.equal(configKeyOf(parseConfig({ credentials: { user: "gw", pass: secret } })), key, "same config, same runtime");
  assert.notEqual(configKeyOf(parseConfig({ credentials: { user: "gw", pass: `${secret}-2` } })), key, "another config, another runtime");
});

test("attach: a registration's claim, its host first in the hand-off; the runtime is the process object's entry", () => {
  const asked: string[] = [];
  const host = (name: string): WakeHost => ({
    enqueueInjection: async () => ({ enqueued: true, id: name }),
    pendingInjections: () => (asked.push(name), 0),
    sessionsWithPending: () => [],
    enqueueSystemEvent: () => true,
    startTurn: async () => ({ runId: name }),
    waitTurn: async () => "ok",
  });
  const cfg = parseConfig({ events: { enabled: false } });
  const deps = { system: { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined }, logger: { info() {}, warn() {}, error() {} }, stateDir: mkdtempSync(join(tmpdir(), "rt-attach-")) };
  const rt = acquireRuntime(cfg, deps);
  assert.equal(acquireRuntime(cfg, deps), rt, "same config, same runtime");
  assert.ok(processStateNames().includes("plugin.runtime"));
  const older = rt.attach(host("older"));
  const newer = rt.attach(host("newer"));
  assert.notEqual(older, newer, "each registration its own claim");
  assert.deepEqual(newer, { relay: undefined, onInjected: undefined });
  assert.equal(rt.wake.dispatcher.handoff.hasSession({ agentId: "main", sessionKey: "agent:main:main" }), true);
  assert.deepEqual(asked, ["newer"], "the newest registration's host answers first");
});
