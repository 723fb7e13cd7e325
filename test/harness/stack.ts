import { writeFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "./gateway.ts";
import type { TestGatewayOptions } from "./gateway-config.ts";
import { ScriptedModel, type ReplyHandler } from "./model-server.ts";
import { NatsServer } from "./nats-server.ts";

/** What most gateway e2e files need: a nats-server, a scripted model, a gateway with the plugin, a client. */
export interface Stack {
  server: NatsServer;
  model: ScriptedModel;
  gw: TestGateway;
  nc: NatsConnection;
  /** Close everything; with E2E_LOG=<file> the gateway's log is kept there for debugging. */
  stop: () => Promise<void>;
}

export async function startStack(opts: { jetstream?: boolean; reply?: ReplyHandler; gateway: (natsUrl: string) => Omit<TestGatewayOptions, "model"> }): Promise<Stack> {
  const server = await NatsServer.start({ jetstream: opts.jetstream });
  const model = await ScriptedModel.start();
  if (opts.reply) model.reply(opts.reply);
  let gw: TestGateway;
  try {
    gw = await TestGateway.start({ model, ...opts.gateway(server.url) });
  } catch (err) {
    await model.close();
    await server.stop();
    throw err;
  }
  const nc = await connect({ servers: server.url });
  const stop = async (): Promise<void> => {
    if (process.env.E2E_LOG) writeFileSync(process.env.E2E_LOG, gw.logs());
    await nc.close();
    await gw.dispose();
    await model.close();
    await server.stop();
  };
  return { server, model, gw, nc, stop };
}
