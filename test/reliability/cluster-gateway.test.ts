import { after, before, describe } from "node:test";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { HUB_READY, hubPluginConfig, readyCluster, type Cluster } from "./cluster/context.ts";
import { eventLeaderTests } from "./cluster/event-leader.ts";
import { nodeLossTests } from "./cluster/node-loss.ts";

// Node losses through a real gateway on a real 3-node cluster, every plugin stream R3. Its own gateway
// boot (no existing file's gateway fits): it needs a cluster profile — `url` listing three nodes,
// `replicas: 3`, a durable inbox and the agent protocol — and it SIGKILLs nodes under that gateway. The
// three losses share that one boot, in this order: the inbox leader, the node the gateway is connected
// to (cluster/node-loss.ts), then the event stream's leader alone (cluster/event-leader.ts); each case
// restarts its node and waits until it caught up before the next one starts.

describe("a 3-node cluster under a real gateway, every stream R3", () => {
  const c = {} as Cluster;

  before(async () => {
    Object.assign(c, await readyCluster());
    const model = await ScriptedModel.start();
    const url = c.nodes.map((n) => n.url).join(",");
    c.a = { model, gw: await TestGateway.start({ model, plugins: [natsPlugin(hubPluginConfig(url))], readyLog: HUB_READY, timeoutMs: 300_000 }) };
  });
  after(async () => {
    await c.nc?.close();
    await c.a?.gw.dispose();
    await c.a?.model.close();
    await Promise.all((c.nodes ?? []).map((n) => n.stop()));
  });

  const shared = () => c;
  nodeLossTests(shared);
  eventLeaderTests(shared);
});
