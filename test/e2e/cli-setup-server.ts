// What both CLI setup e2e files share (cli-setup.e2e, cli-import.e2e): one real nats-server with a
// user, the staged plugin, throw-away OpenClaw homes (each one's local server stopped at the end).
import { after, before } from "node:test";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { NatsServer } from "../harness/nats-server.ts";
import type { OpenClawHome } from "../harness/openclaw-cli.ts";

export const PASSWORD = "setup-pass-Rt61";
export let server: NatsServer;
export let pluginPath: string;
const homes: OpenClawHome[] = [];

before(async () => {
  server = await NatsServer.start({ config: `authorization { users: [ { user: ops, password: "${PASSWORD}" } ] }` });
  pluginPath = natsPlugin({}).path;
});
after(async () => {
  for (const h of homes) {
    await h.run(["nats", "server", "stop"]).catch(() => undefined);
    h.dispose();
  }
  await server?.stop();
});

export function track(h: OpenClawHome): OpenClawHome {
  homes.push(h);
  return h;
}

export async function streamNames(): Promise<string[]> {
  const nc = await connect({ servers: server.url, user: "ops", pass: PASSWORD });
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const s of jsm.streams.list()) names.push(s.config.name);
  await nc.close();
  return names;
}
