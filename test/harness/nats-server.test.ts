import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsServer, serverVarPassword } from "./nats-server.ts";

test("harness: a spawned nats-server serves JetStream and survives kill -9 + restart with its store", async () => {
  const server = await NatsServer.start();
  try {
    let nc = await connect({ servers: server.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "H", subjects: ["h.>"] });
    await nc.close();
    await server.kill();
    await server.restart();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("H");
    assert.equal(info.config.name, "H");
    await nc.close();
  } finally {
    await server.stop();
  }
});

test("harness: a config nats-server refuses fails start() with nats-server's own reason; serverVarPassword() is accepted", async () => {
  process.env.HARNESS_NUMERIC_PASSWORD = "9e1234abcd";
  process.env.HARNESS_PASSWORD = serverVarPassword();
  const users = (v: string) => `authorization { users = [ { user: a, password: $${v} } ] }`;
  await assert.rejects(NatsServer.start({ jetstream: false, config: users("HARNESS_NUMERIC_PASSWORD") }), /exited with code 1: .*HARNESS_NUMERIC_PASSWORD.*could not be parsed/);
  const ok = await NatsServer.start({ jetstream: false, config: users("HARNESS_PASSWORD") });
  await ok.stop();
});
