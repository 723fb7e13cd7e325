import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { REPO_ROOT } from "../../scripts/stage-plugin.ts";

test("a config the schema can't express (two kinds of credentials): one log line, plugin idle, gateway up", async () => {
  const model = await ScriptedModel.start();
  const gw = await TestGateway.start({ model, plugins: [natsPlugin({ url: "nats://127.0.0.1:1", credentials: { token: "tok-secret", user: "u", pass: "p" } })] });
  try {
    const line = await gw.waitForLog(/nats: invalid config: .*/, 30_000);
    assert.match(line, /credentials: choose one of token, user\/pass, nkeySeed, credsFile \(got token \+ user\/pass\)/);
    assert.match(line, /plugin stays idle/);
    assert.ok(!line.includes("tok-secret"));
    const run = await gw.runAgent({ sessionKey: "agent:main:main", message: "still alive?" });
    assert.equal(run.status, "ok", "the gateway keeps serving agents");
    assert.doesNotMatch(gw.logs(), /nats: (connected|cannot connect|subscribed)/);
  } finally {
    await gw.dispose();
    await model.close();
  }
});

test("a config that breaks the manifest schema is refused by the host before start, naming each field", async () => {
  const model = await ScriptedModel.start();
  try {
    const err = await TestGateway.start({ model, plugins: [natsPlugin({ url: "http://nope", reconnect: { delayMs: "fast" } })] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, "the host refuses to start");
    // The host exits before ready (the default 240-s deadline only bounds a loaded machine: run 0's
    // 60 s ran out before the refusal, and the message then named no dir).
    const dir = /\(dir ([^)]+)\)/.exec(err.message)?.[1];
    assert.ok(dir, err.message);
    const env = { ...process.env, HOME: join(dir, "home"), OPENCLAW_STATE_DIR: join(dir, "state"), OPENCLAW_CONFIG_PATH: join(dir, "openclaw.json"), NO_COLOR: "1" };
    let out = "";
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, "node_modules/openclaw/openclaw.mjs"), "config", "validate"], { env, encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? "") + String((e as { stderr?: string }).stderr ?? "");
    }
    assert.match(out, /plugins\.entries\.nats\.config\.url: invalid config: must match pattern/);
    assert.match(out, /plugins\.entries\.nats\.config\.reconnect\.delayMs: invalid config: must be integer/);
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await model.close();
  }
});
