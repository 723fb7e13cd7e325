import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsServer } from "./nats-server.ts";

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
