import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../scripts/stage-plugin.ts";

const OPENCLAW = join(REPO_ROOT, "node_modules", "openclaw", "openclaw.mjs");

interface Inspect {
  plugin: { id: string; status: string; enabled: boolean; toolNames: string[] };
  commands: string[];
  services: string[];
  gatewayMethods: string[];
  diagnostics: Array<{ level: string; message: string }>;
}

test("npm pack → openclaw plugins install → the plugin loads with its tool, command, service and methods", () => {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-nats-pack-"));
  try {
    const tgz = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n").pop() ?? "";
    mkdirSync(join(dir, "home"));
    const configPath = join(dir, "openclaw.json");
    writeFileSync(configPath, JSON.stringify({ plugins: { entries: { nats: { hooks: { allowConversationAccess: true } } } } }));
    const env = { ...process.env, HOME: join(dir, "home"), OPENCLAW_STATE_DIR: join(dir, "state"), OPENCLAW_CONFIG_PATH: configPath, NO_COLOR: "1" };
    const oc = (...args: string[]): string => execFileSync(process.execPath, [OPENCLAW, ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    oc("plugins", "install", join(dir, tgz), "--force", "--accept-capabilities");
    const inspect = JSON.parse(oc("plugins", "inspect", "nats", "--runtime", "--json")) as Inspect;
    assert.equal(inspect.plugin.id, "nats");
    assert.equal(inspect.plugin.status, "loaded");
    assert.deepEqual([...inspect.plugin.toolNames].sort(), ["event_search", "nats", "notify_agent"]);
    assert.deepEqual(inspect.commands, ["eventstatus"]);
    assert.deepEqual(inspect.services, ["nats"]);
    assert.ok(inspect.gatewayMethods.includes("nats.status") && inspect.gatewayMethods.includes("eventstore.status"));
    assert.ok(inspect.gatewayMethods.includes("nats.memory.status"), "memory is on with the event store by default");
    assert.deepEqual(inspect.diagnostics.filter((d) => d.level === "error"), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
