import { test } from "node:test";
import assert from "node:assert/strict";
import { promptText } from "../../harness/model-server.ts";
import type { Stack } from "../../harness/stack.ts";

export function sendTests(shared: () => Stack): void {

test("openclaw nats send: the CLI loads the plugin's command, publishes a wake and prints the receipt", async () => {
  const { gw, model } = shared();
  model.reply(() => ({ text: "ok" }));
  const run = await gw.openclaw(["nats", "send", "disk", "at", "91%", "--from", "cron", "--priority", "urgent", "--request", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const receipt = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual({ ok: receipt.ok, sessionKey: receipt.sessionKey, priority: receipt.priority }, { ok: true, sessionKey: "agent:main:main", priority: "urgent" });
  const req = await model.waitFor((r) => promptText(r).includes("[URGENT from cron] disk at 91%"), 30_000);
  assert.ok(req);
});

test("openclaw nats send: bad flags and an unreachable server fail with a reason, a next step and a non-zero exit", async () => {
  const { gw } = shared();
  const bad = await gw.openclaw(["nats", "send", "x", "--priority", "high"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error: --priority must be one of urgent, normal, low/);
  const down = await gw.openclaw(["nats", "send", "x", "--url", "nats://127.0.0.1:1", "--json"]);
  assert.equal(down.code, 1);
  const out = JSON.parse(down.stdout) as { ok: boolean; error: string; next: string };
  assert.equal(out.ok, false);
  assert.match(out.error, /cannot connect to NATS/);
  assert.match(out.next, /nats-server/);
});
}
