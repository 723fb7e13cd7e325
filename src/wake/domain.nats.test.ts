import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort } from "../../test/harness/free-port.ts";
import { NatsServer, startLeaf } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsLink } from "../connection/link.ts";
import type { Logger } from "../shared/logger.ts";
import { DeadLetterStore } from "./dead-letter-store.ts";
import { ensureDeadLetterStream } from "./dead-letter.ts";

// `jetstreamDomain`: the plugin's JetStream calls go to that domain's API, wherever it is connected. Here
// the plugin is connected to the hub and its streams live on a leaf node's own JetStream (domain edge).

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let hub: NatsServer;
let leaf: NatsServer;
let leafNc: NatsConnection;
let link: NatsLink;

before(async () => {
  hub = await NatsServer.start({ name: "hub1", domain: "hub", leafPort: await freePort() });
  leaf = await startLeaf({ name: "leaf1", domain: "edge", hubLeafUrl: `nats-leaf://127.0.0.1:${hub.leafPort}` });
  leafNc = await connect({ servers: leaf.url });
  link = new NatsLink({ url: hub.url, name: "domain-test", reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 500 }, jetstreamDomain: "edge" }, quiet);
  void link.start();
});
after(async () => {
  await link?.stop();
  await leafNc?.close();
  await leaf?.stop();
  await hub?.stop();
});

test("with jetstreamDomain the dead-letter stream is made and written in that domain, not on the server connected to", async () => {
  const nc = await link.ready();
  const cfg = parseConfig({ url: hub.url, jetstreamDomain: "edge" });
  // The leaf link comes up a moment after the servers: until then the edge domain has no responder.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      assert.equal(await ensureDeadLetterStream(nc, cfg, quiet), true);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const onLeaf = await (await jetstreamManager(leafNc)).streams.info("OPENCLAW_DLQ");
  assert.equal(onLeaf.config.name, "OPENCLAW_DLQ");
  const hubNc = await connect({ servers: hub.url });
  try {
    await assert.rejects((await jetstreamManager(hubNc)).streams.info("OPENCLAW_DLQ"), /stream not found/);
  } finally {
    await hubNc.close();
  }
  // A dead letter through the store: stored in the leaf's stream (publish and its ack cross the link).
  const stored = await new DeadLetterStore(cfg, quiet).store(nc, { subject: "agent.x.inbox", data: new TextEncoder().encode("{}"), reason: "domain test" });
  assert.equal(stored, true);
  assert.equal((await (await jetstreamManager(leafNc)).streams.info("OPENCLAW_DLQ")).state.messages, 1);
});
