// How long a pull consume() stalls after its consumer's leader is SIGKILLed on a 3-node cluster, with the client on a
// survivor: `node bench/consumer-leader.ts [expiresMs]` (no argument: nats.js's default 30-s pulls). Printed, never asserted;
// the figures in docs/cluster.md ("What a node loss costs") and the reason for PULL_EXPIRES_MS in src/wake/durable-inbox.ts.
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startCluster } from "../test/harness/nats-server.ts";
const expires = process.argv[2] ? Number(process.argv[2]) : undefined;
const nodes = await startCluster(3);
const nc = await connect({ servers: nodes.map((n) => n.url) });
for (;;) { try { const j = await jetstreamManager(nc, { timeout: 2000 }); await j.streams.add({ name: "S", subjects: ["s.>"], num_replicas: 3 }); break; } catch { await new Promise((r) => setTimeout(r, 500)); } }
const jsm = await jetstreamManager(nc);
await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, num_replicas: 3 });
const leaderName = (await jsm.consumers.info("S", "C")).cluster!.leader!;
const leader = nodes[Number(leaderName.slice(1)) - 1]!;
// the client on a node that survives
const survivor = nodes.find((n) => n !== leader)!;
const nc2 = await connect({ servers: [survivor.url] });
const msgs = await jetstream(nc2).consumers.get("S", "C").then((c) => c.consume({ max_messages: 4, ...(expires ? { expires } : {}) }));
const js = jetstream(nc, { timeout: 2000 });
let got = 0; let t = 0;
(async () => { for await (const m of msgs) { m.ack(); got++; if (got === 2) console.log(`second message ${Math.round(performance.now() - t)} ms after its publish (expires ${expires ?? "default"})`); } })();
await js.publish("s.a", "1"); await new Promise((r) => setTimeout(r, 1000));
await leader.kill();
t = performance.now();
for (;;) { try { await js.publish("s.a", "2", { msgID: "two" }); break; } catch { await new Promise((r) => setTimeout(r, 250)); } }
const deadline = Date.now() + 60_000;
while (got < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
if (got < 2) console.log("second message not received in 60 s");
await msgs.close(); await nc2.close(); await nc.close(); await Promise.all(nodes.map((n) => n.stop()));
