// `openclaw nats doctor` through the real CLI against real nats-servers set up wrong on purpose:
// each check must fail (or warn) when it should, say why, and never print a secret.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { join } from "node:path";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";
import { Spool } from "../../src/spool/spool.ts";

interface Check {
  id: string;
  title: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
  fix?: string;
}
interface Doctor {
  ok: boolean;
  checks: Check[];
}

const PASSWORD = "full-pass-Zq81x";
const TOKEN = "s3cret-token-Kp29w";
let authServer: NatsServer; // JetStream on, users with and without permissions
let tokenServer: NatsServer; // token auth, JetStream off
let pluginPath: string;
const homes: OpenClawHome[] = [];

before(async () => {
  authServer = await NatsServer.start({
    config: `authorization { users: [
      { user: full, password: "${PASSWORD}" }
      { user: limited, password: "limited-pass-Wd4", permissions: { publish: { deny: ["openclaw.events.>"] }, subscribe: { deny: ["agent.*.inbox"] } } }
    ] }`,
  });
  tokenServer = await NatsServer.start({ jetstream: false, config: `authorization { token: "${TOKEN}" }` });
  pluginPath = natsPlugin({}).path;
});
after(async () => {
  for (const h of homes) h.dispose();
  await authServer?.stop();
  await tokenServer?.stop();
});

function home(natsConfig: object, extra: Parameters<typeof cliConfig>[2] = {}): OpenClawHome {
  const h = new OpenClawHome(cliConfig(pluginPath, natsConfig, extra));
  homes.push(h);
  return h;
}

/**
 * Runs doctor with --json (and, with `text`, also without, to check what a person reads). With `real`
 * through the real `openclaw` CLI (a Node process that loads the host and the plugin, ~6 CPU-s);
 * otherwise the same command code in-process with this home's config and env (OpenClawHome.runInProcess).
 */
async function doctor(h: OpenClawHome, args: string[] = [], opts: { env?: Record<string, string>; text?: boolean; real?: boolean } = {}): Promise<{ code: number | null; out: Doctor; text: string }> {
  const run = (a: string[]) => (opts.real ? h.run(["nats", ...a], { env: opts.env }) : h.runInProcess(a, { env: opts.env }));
  const json = await run(["doctor", "--json", ...args]);
  let text = json.stdout + json.stderr;
  if (opts.text) {
    const human = await run(["doctor", ...args]);
    assert.equal(human.code, json.code, "--json and text agree on the exit code");
    assert.match(human.stdout, /fail(ed)?, \d+ warning/);
    text += human.stdout + human.stderr;
  }
  return { code: json.code, out: jsonOut<Doctor>(json), text };
}

const byTitle = (d: Doctor, title: string): Check => {
  const c = d.checks.find((x) => x.title === title);
  assert.ok(c, `no check "${title}" in ${d.checks.map((x) => x.title).join(", ")}`);
  return c;
};

test("doctor: a healthy setup passes every check, exit 0", async () => {
  const h = home({ url: authServer.url, credentials: { user: "full", pass: PASSWORD } }, { hooks: { allowConversationAccess: true }, top: { tools: { toolSearch: false } } });
  const { code, out, text } = await doctor(h, [], { text: true, real: true });
  assert.equal(code, 0, text);
  assert.equal(out.ok, true);
  for (const title of ["config", "server", "credentials", "jetstream", "subscribe permission", "publish permission", "clock", "conversation access", "tool search", "spool"]) {
    assert.equal(byTitle(out, title).status, "ok", `${title}: ${JSON.stringify(byTitle(out, title))}`);
  }
  // No stream yet: a warning that the gateway (or setup) creates it, not a failure.
  assert.equal(byTitle(out, "stream openclaw-events").status, "warn");
  assert.equal(byTitle(out, "gateway").status, "skip");
  assert.ok(!text.includes(PASSWORD), "the password never reaches the output");
});

test("doctor: wrong credentials fail as credentials (the server answered), with a fix, and the password is not printed", async () => {
  const h = home({ url: authServer.url, credentials: { user: "full", pass: "wrong-pass-Hq7" } });
  const { code, out, text } = await doctor(h, [], { text: true });
  assert.equal(code, 1);
  assert.equal(byTitle(out, "server").status, "ok");
  const cred = byTitle(out, "credentials");
  assert.equal(cred.status, "fail");
  assert.match(cred.detail, /Authorization Violation/);
  assert.match(cred.fix ?? "", /credentials/);
  assert.equal(byTitle(out, "jetstream").status, "skip");
  // Host settings are still checked: defaults leave conversation access off and Tool Search on.
  assert.equal(byTitle(out, "conversation access").status, "warn");
  assert.match(byTitle(out, "conversation access").fix ?? "", /allowConversationAccess true/);
  assert.equal(byTitle(out, "tool search").status, "warn");
  assert.match(byTitle(out, "tool search").fix ?? "", /toolSearch false/);
  assert.ok(!text.includes("wrong-pass-Hq7"));
});

test("doctor: nothing listening fails as server, and a password in --url is redacted", async () => {
  const h = home({ url: authServer.url });
  const { code, out, text } = await doctor(h, ["--url", "nats://full:url-pass-Xy3@127.0.0.1:1"], { text: true, real: true });
  assert.equal(code, 1);
  const server = byTitle(out, "server");
  assert.equal(server.status, "fail");
  assert.match(server.detail, /nothing answers at nats:\/\/\*\*\*@127\.0\.0\.1:1/);
  assert.match(server.fix ?? "", /openclaw nats server start/);
  assert.ok(!text.includes("url-pass-Xy3"), "the password in the URL never reaches the output");
});

test("doctor: JetStream off fails with how to turn it on; a token is never printed", async () => {
  const h = home({ url: tokenServer.url, credentials: { token: TOKEN } });
  const { code, out, text } = await doctor(h, [], { text: true });
  assert.equal(code, 1);
  assert.equal(byTitle(out, "credentials").status, "ok");
  const js = byTitle(out, "jetstream");
  assert.equal(js.status, "fail");
  assert.match(js.fix ?? "", /-js/);
  assert.equal(byTitle(out, "clock").status, "skip");
  const wrong = await doctor(home({ url: tokenServer.url, credentials: { token: "not-the-token-Lm5" } }));
  assert.equal(byTitle(wrong.out, "credentials").status, "fail");
  assert.ok(!text.includes(TOKEN) && !wrong.text.includes("not-the-token-Lm5"), "tokens never reach the output");
  // With events off and no durable inbox, JetStream is not needed: not a failure.
  const noJs = await doctor(home({ url: tokenServer.url, credentials: { token: TOKEN }, events: { enabled: false } }));
  assert.equal(byTitle(noJs.out, "jetstream").status, "skip");
  assert.equal(noJs.code, 0, noJs.text);
});
