// `openclaw nats doctor` through the real CLI against real nats-servers set up wrong on purpose:
// each check must fail (or warn) when it should, say why, and never print a secret.
import { test } from "node:test";
import assert from "node:assert/strict";
import { authServer, tokenServer, PASSWORD, TOKEN, home, doctor, byTitle, useDoctorServers } from "./doctor-fixture.ts";

useDoctorServers();

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
