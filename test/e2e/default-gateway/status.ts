// `openclaw nats status` / `doctor` against a real running gateway, and `eventstore.status` in the
// NATS event-store plugin's shape; a NATS outage shows as a spool backlog that drains afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gatewayNatsCli } from "../../harness/cli-in-process.ts";
import { jsonOut } from "../../harness/openclaw-cli.ts";
import type { Stack } from "../../harness/stack.ts";

interface Check {
  title: string;
  status: string;
  detail: string;
}

// The real CLI runs once per command shape (status text, doctor --json, status on an outage); the other
// cases run the same command code in-process (gatewayNatsCli) with this gateway's config and env.

/** Runs first: it checks that no disconnect or publish failure happened yet. */
export function statusTests(shared: () => Stack): void {
  test("eventstore.status answers in the NATS event-store plugin's shape (top-level connected, stream, disconnectCount, publishFailures) plus ours; openclaw nats status prints its lines first", async () => {
  const { gw } = shared();
  await gw.waitForLog(/events: created stream "openclaw-events"/, 60_000);
  for (const method of ["eventstore.status", "nats.status"]) {
    const s = await gw.call(method);
    assert.deepEqual({ connected: s.connected, stream: s.stream, disconnectCount: s.disconnectCount, publishFailures: s.publishFailures }, { connected: true, stream: "openclaw-events", disconnectCount: 0, publishFailures: 0 }, method);
    assert.equal((s.connection as { connected: boolean }).connected, true);
    assert.ok("wake" in s && "events" in s);
  }
  const text = await gw.openclaw(["nats", "status"]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.slice(text.stdout.indexOf("NATS Event Store")).split("\n");
  assert.deepEqual(lines.slice(0, 5), ["NATS Event Store", "Connected: ✅", "Stream: openclaw-events", "Disconnects: 0", "Publish failures: 0"]);
  assert.match(text.stdout, /Wake: agent\.\*\.inbox/);
  const json = jsonOut<{ connected: boolean; events: { stream: string } }>(await gatewayNatsCli(gw, ["status", "--json"]));
  assert.equal(json.events.stream, "openclaw-events");

  const doctor = await gw.openclaw(["nats", "doctor", "--json"]);
  const checks = jsonOut<{ checks: Check[] }>(doctor).checks;
  assert.equal(checks.find((c) => c.title === "gateway")?.status, "ok", JSON.stringify(checks));
  assert.equal(checks.find((c) => c.title === "stream openclaw-events")?.status, "ok");
  assert.equal(checks.find((c) => c.title === "conversation access")?.status, "ok");

  const away = await gatewayNatsCli(gw, ["status", "--url", "ws://127.0.0.1:1", "--json"]);
  assert.equal(away.code, 1);
  const err = jsonOut<{ error: string; next: string }>(away);
  assert.match(err.error, /the gateway is not running or not reachable/);
  assert.match(err.next, /openclaw gateway run/);
});
}

/** Runs last: it stops the file's nats-server (and starts it again). */
export function outageTests(shared: () => Stack): void {
  test("a NATS outage: status exits 1 and says so, doctor reports the spool backlog with its age; after the server is back the spool drains and doctor is clean", async () => {
  const { gw, server } = shared();
  await server.stop();
  await gw.waitForLog(/nats: .*(disconnect|connection lost|cannot connect)/i, 60_000).catch(() => undefined);
  await gw.runAgent({ sessionKey: "agent:main:main", message: "hello while NATS is down" });
  const down = await gw.call("eventstore.status");
  assert.equal(down.connected, false);
  assert.ok((down.disconnectCount as number) >= 1);
  const events = down.events as { spoolDepth: number; spoolOldestAt: number };
  assert.ok(events.spoolDepth > 0, "the turn's events wait in the spool");
  assert.ok(events.spoolOldestAt <= Date.now());

  const status = await gw.openclaw(["nats", "status"]);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /Connected: ❌/);
  assert.match(status.stdout, /Spool: \d+ waiting, oldest \d+ (s|min) old/);
  assert.match(status.stderr, /next: NATS is not connected; `openclaw nats doctor` tells why/);

  const doctor = await gatewayNatsCli(gw, ["doctor", "--json", "--max-spool-age", "0"]);
  assert.equal(doctor.code, 1);
  const checks = jsonOut<{ checks: Array<Check & { fix?: string }> }>(doctor).checks;
  assert.equal(checks.find((c) => c.title === "server")?.status, "fail");
  assert.equal(checks.find((c) => c.title === "gateway")?.status, "warn");
  const spool = checks.find((c) => c.title === "spool");
  assert.equal(spool?.status, "warn");
  assert.match(spool?.detail ?? "", /^backlog: \d+ event\(s\) waiting, the oldest for \d+ (s|min)/);

  await server.restart();
  const deadline = Date.now() + 90_000;
  for (;;) {
    const s = await gw.call("nats.status");
    if (s.connected === true && (s.events as { spoolDepth: number }).spoolDepth === 0) break;
    if (Date.now() > deadline) assert.fail(`spool did not drain: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const after = jsonOut<{ checks: Check[] }>(await gatewayNatsCli(gw, ["doctor", "--json"])).checks;
  assert.equal(after.find((c) => c.title === "spool")?.status, "ok");
  assert.equal(after.find((c) => c.title === "gateway")?.status, "ok");
});
}
