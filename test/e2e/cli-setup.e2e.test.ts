// `openclaw nats server|setup|import-config|uninstall` through the real CLI, on real config files
// and real nats-servers (no gateway needed: these commands work on the config and on NATS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { freePort } from "../harness/free-port.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";
import { Spool } from "../../src/spool/spool.ts";
import { newEventId } from "../../src/events/envelope.ts";
import { server, PASSWORD, pluginPath, track, streamNames, useSetupServer } from "./setup-fixture.ts";

useSetupServer();

// Each command shape runs once through the real `openclaw` CLI (server start, stop; setup; uninstall);
// the refusals and repeats run the same command code in-process (OpenClawHome.runInProcess).
test("server start|status|stop: a local nats-server with JetStream in the state dir, pid-file managed; a clear message without the binary", async () => {
  const h = track(new OpenClawHome(cliConfig(pluginPath, {})));
  const port = await freePort();
  const start = await h.run(["nats", "server", "start", "--port", String(port), "--json"]);
  assert.equal(start.code, 0, start.stderr);
  const started = jsonOut<{ pid: number; url: string; alreadyRunning: boolean }>(start);
  assert.equal(started.url, `nats://127.0.0.1:${port}`);
  assert.equal(started.alreadyRunning, false);
  const pidFile = join(h.pluginDir, "server", "nats-server.pid");
  assert.equal(Number(readFileSync(pidFile, "utf8")), started.pid, "nats-server wrote its pid where the CLI reads it");
  const nc = await connect({ servers: started.url });
  assert.ok((await (await jetstreamManager(nc)).getAccountInfo()).limits, "JetStream is on");
  await nc.close();
  assert.ok(existsSync(join(h.pluginDir, "server", "data", "jetstream")), "JetStream data lives in the OpenClaw state dir");
  const again = await h.runInProcess(["server", "start", "--port", String(port)]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already running/);
  const status = await h.runInProcess(["server", "status", "--json"]);
  assert.equal(status.code, 0);
  assert.equal(jsonOut<{ running: boolean; pid: number }>(status).pid, started.pid);
  const stop = await h.run(["nats", "server", "stop"]);
  assert.equal(stop.code, 0);
  assert.match(stop.stdout, new RegExp(`stopped \\(pid ${started.pid}\\)`));
  const down = await h.runInProcess(["server", "status"]);
  assert.equal(down.code, 1, "status exits 1 when the server does not run");
  assert.match(down.stdout, /not running[\s\S]*next: openclaw nats server start/);
  const missing = await h.runInProcess(["server", "start", "--port", String(port)], { env: { NATS_SERVER_BIN: "/nonexistent/nats-server" } });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: nats-server is not installed/);
  assert.match(missing.stderr, /next: install it: `sudo apt-get install nats-server`/);
  const exposed = await h.runInProcess(["server", "start", "--host", "0.0.0.0", "--port", String(port)]);
  assert.equal(exposed.code, 1);
  assert.match(exposed.stderr, /only listens on loopback/);
});

const JSON5_CONFIG = (plugin: string) => `// my gateway, hand-written
{
  gateway: { mode: "local", bind: "loopback", port: 1, auth: { mode: "token", token: "t0ken-for-the-cli-tests" } },
  agents: { defaults: { thinkingDefault: "low" } }, // keep me
  session: { dmScope: "per-channel-peer" },
  plugins: {
    load: { paths: [${JSON.stringify(plugin)}] },
    entries: { nats: { config: { credentials: { user: "ops", pass: "${PASSWORD}" }, agentName: "nyx" } } },
  },
}
`;

test("setup: checks the server, creates the streams, writes plugins.entries.nats (validated) into a JSON5 config and leaves every other key alone", async () => {
  const h = track(new OpenClawHome(JSON5_CONFIG(pluginPath)));
  const before = h.readConfig();
  // Refused before anything is written: nothing answers, or the result would not validate.
  const down = await h.runInProcess(["setup", "--url", "nats://127.0.0.1:1", "--json"]);
  assert.equal(down.code, 1);
  assert.match(jsonOut<{ error: string }>(down).error, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1.*nothing was written/);
  const bad = await h.runInProcess(["setup", "--url", server.url, "--subjects", " , "]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /subjects: must list at least one subject; nothing was written/);
  assert.equal(h.readConfig(), before, "a refused setup leaves the file byte for byte");

  const run = await h.run(["nats", "setup", "--url", server.url, "--durable-inbox"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /stream openclaw-events: created/);
  assert.match(run.stdout, /inbox stream OPENCLAW_INBOX and consumer openclaw-gateway-main: created/);
  assert.match(run.stdout, /next:[\s\S]*openclaw nats doctor/);
  assert.ok(!run.stdout.includes(PASSWORD) && !run.stderr.includes(PASSWORD), "the password is not printed");
  assert.deepEqual((await streamNames()).sort(), ["OPENCLAW_INBOX", "openclaw-events"]);

  const written = JSON.parse(h.readConfig()) as Record<string, any>;
  assert.deepEqual(written.agents, { defaults: { thinkingDefault: "low" } });
  assert.deepEqual(written.session, { dmScope: "per-channel-peer" });
  assert.deepEqual(written.gateway, { mode: "local", bind: "loopback", port: 1, auth: { mode: "token", token: "t0ken-for-the-cli-tests" } });
  assert.deepEqual(written.plugins.load, { paths: [pluginPath] });
  assert.deepEqual(written.plugins.entries.nats, {
    enabled: true,
    config: { credentials: { user: "ops", pass: PASSWORD }, agentName: "nyx", url: server.url, inbox: { durable: true } },
    hooks: { allowConversationAccess: true },
  });
  // The host's writer re-serializes JSON5 as JSON (and says so): comments do not survive a CLI write.
  assert.match(run.stderr, /strip JSON5 comments/);
  const doctor = await h.runInProcess(["doctor", "--json"]);
  const checks = jsonOut<{ checks: Array<{ title: string; status: string }> }>(doctor).checks;
  for (const title of ["stream openclaw-events", "inbox OPENCLAW_INBOX", "consumer openclaw-gateway-main"]) assert.equal(checks.find((c) => c.title === title)?.status, "ok", `${title} after setup`);

  // uninstall without --purge: lists, turns the plugin off, deletes nothing.
  const spool = Spool.open({ path: join(h.pluginDir, "event-spool.sqlite"), maxBytes: 1 << 20 });
  spool.append("default", newEventId(), "openclaw.events.main.msg_in", "{}", 2);
  spool.close();
  const keep = await h.run(["nats", "uninstall"]);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /stream\s+openclaw-events/);
  assert.match(keep.stdout, /consumer\s+OPENCLAW_INBOX\/openclaw-gateway-main/);
  assert.match(keep.stdout, /spool\s+.*event-spool\.sqlite\s+\(1 unpublished event\(s\)\)/);
  assert.match(keep.stdout, /nothing is deleted without --purge/);
  assert.equal((JSON.parse(h.readConfig()) as Record<string, any>).plugins.entries.nats.enabled, false);
  assert.deepEqual((await streamNames()).sort(), ["OPENCLAW_INBOX", "openclaw-events"]);
  assert.ok(existsSync(join(h.pluginDir, "event-spool.sqlite")));
  // The CLI goes with the plugin: with the entry off, `openclaw nats` is gone until re-enabled.
  const cfg = JSON.parse(h.readConfig()) as Record<string, any>;
  cfg.plugins.entries.nats.enabled = true;
  h.writeConfig(cfg);
  const purge = await h.run(["nats", "uninstall", "--purge", "--json"]);
  assert.equal(purge.code, 0, purge.stderr);
  const purged = jsonOut<{ deleted: string[] }>(purge);
  assert.ok(purged.deleted.includes("stream openclaw-events") && purged.deleted.includes("stream OPENCLAW_INBOX"), JSON.stringify(purged));
  assert.deepEqual(await streamNames(), []);
  assert.ok(!existsSync(h.pluginDir), "spool and state are gone");
  assert.ok(!purge.stdout.includes(PASSWORD));
});
