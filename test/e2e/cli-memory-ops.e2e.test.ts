import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promptText } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { readEvents } from "../harness/event-stream.ts";
import { gatewayNatsCli } from "../harness/cli-in-process.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { permissionsConfig, permissionsPlan } from "../../src/isolation/permissions.ts";

// `openclaw nats migrate`, `export` and `permissions` against a real gateway setup and nats-server;
// the imported MEMORY.md reaches the session-start block of a new session in the real gateway.
const OPS_PASS = "ops-pass-Zr81xq";
let stack: Stack;
let pluginConfig: Record<string, unknown>;

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p).split("\\").join("/"), readFileSync(p).toString("base64"));
    }
  };
  walk(dir);
  return out;
}

before(async () => {
  stack = await startStack({
    reply: () => ({ text: "ok" }),
    gateway: (url) => {
      pluginConfig = { url, events: { agents: { ops: { streamName: "ops-events", subjectPrefix: "ops.events", credentials: { user: "agent-ops", pass: OPS_PASS } } } } };
      return { plugins: [natsPlugin(pluginConfig)], readyLog: /nats: subscribed to agent\.\*\.inbox/ };
    },
  });
});
after(() => stack?.stop());

test("openclaw nats permissions prints exactly the tested config for the configured agents, without secrets", async () => {
  const expected = permissionsConfig(permissionsPlan(parseConfig(pluginConfig)));
  const out = join(mkdtempSync(join(tmpdir(), "perm-")), "accounts.conf");
  const file = await stack.gw.openclaw(["nats", "permissions", "--out", out], 180_000);
  assert.equal(file.code, 0, file.stderr);
  assert.ok(!(file.stdout + file.stderr).includes(OPS_PASS), "the real CLI prints no secret");
  assert.equal(readFileSync(out, "utf8"), expected, "the file holds exactly the config the isolation test runs");
  const run = await gatewayNatsCli(stack.gw, ["permissions"]);
  assert.equal(run.code, 0, run.stderr);
  // The host may print plugin load lines first on stdout; the config is the end of it.
  assert.ok(run.stdout.endsWith(expected), run.stdout);
  assert.ok(!run.stdout.includes(OPS_PASS));
  assert.match(run.stdout, /user: "agent-ops", password: \$OPENCLAW_NATS_PASSWORD_OPS/);
  assert.match(run.stdout, /"\$JS\.API\.CONSUMER\.CREATE\.ops-events\.\*\.ops\.events\.ops\.>"/);
});

test("migrate imports a workspace idempotently, export writes it back byte for byte, the block shows MEMORY.md", async () => {
  const { gw, nc, model } = stack;
  const ws = mkdtempSync(join(tmpdir(), "ws-e2e-"));
  mkdirSync(join(ws, "memory"));
  mkdirSync(join(ws, "life/areas/health/sleep"), { recursive: true });
  writeFileSync(join(ws, "MEMORY.md"), "Owner prefers answers in Esperanto. Café ☕ — naïve résumé.\n");
  writeFileSync(join(ws, "memory/2026-11-20.md"), "- called the plumber 🔧\n");
  writeFileSync(join(ws, "memory/2026-11-21.md"), "");
  writeFileSync(join(ws, "life/areas/health/sleep/log.md"), "Schlafdauer: 7½ h\n");

  // The real CLI runs each command once (permissions --out, migrate, export --json); the other cases
  // run the same command code in-process with this gateway's config and env.
  const dry = await gatewayNatsCli(gw, ["migrate", "--workspace", ws, "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const drySummary = JSON.parse(dry.stdout) as { dryRun: boolean; added: Record<string, { files: number; events: number }> };
  assert.equal(drySummary.dryRun, true);
  assert.deepEqual(Object.fromEntries(Object.entries(drySummary.added).map(([t, c]) => [t, c.files])), { "memory.longterm": 1, "memory.daily": 2, "memory.area": 1 });

  const run = await gw.openclaw(["nats", "migrate", "--workspace", ws], 180_000);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /\[1\/4\] MEMORY\.md → memory\.longterm: 1 event\(s\) added/);
  assert.match(run.stdout, /4 event\(s\) added to openclaw-events for agent main/);
  const stored = await readEvents(nc, "openclaw.events.main.>", (ev) => ev.filter((e) => e.type.startsWith("memory.")).length >= 4);
  const note = stored.find((e) => e.type === "memory.longterm");
  assert.equal(note?.payload.path, "MEMORY.md");
  assert.equal(note?.payload.content, "Owner prefers answers in Esperanto. Café ☕ — naïve résumé.\n");

  const again = await gatewayNatsCli(gw, ["migrate", "--workspace", ws, "--json"]);
  const againSummary = JSON.parse(again.stdout) as { added: Record<string, { events: number }>; present: Record<string, { files: number }> };
  assert.deepEqual(Object.values(againSummary.added).map((c) => c.events), [0, 0, 0]);
  assert.deepEqual(Object.fromEntries(Object.entries(againSummary.present).map(([t, c]) => [t, c.files])), { "memory.longterm": 1, "memory.daily": 2, "memory.area": 1 });

  const out = mkdtempSync(join(tmpdir(), "ws-e2e-out-"));
  const exp = await gw.openclaw(["nats", "export", "--workspace", out, "--json"], 180_000);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal((JSON.parse(exp.stdout) as { written: number }).written, 4);
  assert.deepEqual(tree(out), tree(ws));
  writeFileSync(join(out, "MEMORY.md"), "edited locally\n");
  const conflict = await gatewayNatsCli(gw, ["export", "--workspace", out]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /1 file\(s\) in .* differ from the stream: MEMORY\.md/);

  // The gateway's memory reads the notes from the stream: a new session's first turn carries them.
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    const from = model.requests.length;
    await gw.runAgent({ sessionKey: `agent:main:fresh-${i}`, message: "what language?" });
    found = model.requests.slice(from).some((r) => promptText(r).includes("Owner prefers answers in Esperanto"));
    if (!found) await new Promise((r) => setTimeout(r, 2000));
  }
  assert.ok(found, "the imported MEMORY.md is in a new session's model request");
});
