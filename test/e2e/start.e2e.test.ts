import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../harness/free-port.ts";
import { REPO_ROOT } from "../../scripts/stage-plugin.ts";

test("npm start: starts its own nats-server when none answers, and a wake reaches the demo model", async () => {
  const home = mkdtempSync(join(tmpdir(), "openclaw-nats-start-"));
  const natsUrl = `nats://127.0.0.1:${await freePort()}`;
  const env = { ...process.env, OPENCLAW_NATS_HOME: home, NATS_URL: natsUrl, OPENCLAW_GATEWAY_PORT: String(await freePort()), NO_COLOR: "1" };
  const proc = spawn(process.execPath, [join(REPO_ROOT, "scripts/start.ts")], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  proc.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
  const waitFor = async (re: RegExp, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`npm start output never matched ${re}:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    await waitFor(/openclaw-nats is running/, 300_000); // a gateway boot: minutes on a loaded 2-core machine (runs 0 and 1 ran past 120 s)
    assert.match(out, new RegExp(`start: started nats-server \\(JetStream in ${join(home, "nats", "server", "data")}\\) at ${natsUrl}`));
    const nc = await connect({ servers: natsUrl });
    const receipt = await nc.request("agent.main.inbox", JSON.stringify({ from: "readme", body: "hello from the start test", priority: "urgent" }), { timeout: 60_000 });
    assert.equal(receipt.json<{ ok: boolean }>().ok, true);
    await nc.close();
    await waitFor(/demo-model ◀ Demo model: I was woken by URGENT from readme: hello from the start test/, 60_000);
    // A first start on an empty server: memory waits for the event stream quietly (one info line at most).
    assert.deepEqual(out.split("\n").filter((l) => /stream not found|memory: reading .*retrying/i.test(l)), [], "no stream-not-found warnings");
    assert.ok(out.split("\n").filter((l) => /memory: stream .* does not exist yet/.test(l)).length <= 1, "one info line at most");
    // The demo model quotes every `[PRIORITY from x] body` in its request: once means the model saw it once,
    // on this first wake too (a new session's first turn, whose message the host lists as the run's task).
    const quoted = out.split("\n").find((l) => l.includes("demo-model ◀"));
    assert.equal(quoted?.trim(), "demo-model ◀ Demo model: I was woken by URGENT from readme: hello from the start test", "the wake quoted once");
  } finally {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
    rmSync(home, { recursive: true, force: true });
  }
});
