import { test } from "node:test";
import assert from "node:assert/strict";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { NatsLink } from "./link.ts";

test("user/pass auth: a wrong password is retried and logged without the secret; the right one connects", async () => {
  const server = await NatsServer.start({ jetstream: false, config: 'authorization { user: "alice", password: "s3cret-pw" }' });
  const logs: string[] = [];
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
  const reconnect = { maxAttempts: -1, delayMs: 50, maxDelayMs: 100 };
  const url = `nats://alice:wrong-pw@127.0.0.1:${server.port}`;
  const bad = new NatsLink({ url, reconnect, name: "t" }, log);
  void bad.start();
  await assert.rejects(bad.ready(1500), /not connected/);
  await bad.stop();
  assert.ok(logs.some((l) => /cannot connect|Authorization|authorization/i.test(l)), logs.join("\n"));
  assert.ok(!logs.some((l) => l.includes("wrong-pw")), `no secret in: ${logs.join("\n")}`);
  const good = new NatsLink({ url: server.url, credentials: { user: "alice", pass: "s3cret-pw" }, reconnect, name: "t" }, log);
  void good.start();
  await good.ready(5000);
  assert.ok(logs.some((l) => l === `nats: connected to 127.0.0.1:${server.port}`));
  assert.ok(!logs.some((l) => l.includes("s3cret-pw")));
  await good.stop();
  await server.stop();
});

test("stop() while the first connect keeps failing ends the connect loop (no retry left running)", async () => {
  const server = await NatsServer.start({ jetstream: false });
  const url = server.url;
  await server.stop(); // nothing listens there now: every attempt is refused
  const logs: string[] = [];
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
  const link = new NatsLink({ url, reconnect: { maxAttempts: -1, delayMs: 50, maxDelayMs: 100 }, name: "t" }, log);
  const loop = link.start();
  await assert.rejects(link.ready(500), /not connected/);
  await link.stop();
  // Before the fix connect() retried the first connect itself, forever, and this never settled.
  const ended = await Promise.race([loop.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000).unref())]);
  assert.equal(ended, true, "the connect loop ended after stop()");
  assert.equal(logs.filter((l) => l.startsWith("nats: cannot connect")).length, 1, `one line for one repeated failure:\n${logs.join("\n")}`);
});
