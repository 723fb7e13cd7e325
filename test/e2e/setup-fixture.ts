// The nats-server and helpers cli-setup.e2e and cli-import.e2e share (one file's setup, in two files so
// they run side by side). useSetupServer() registers the file's before/after hooks; server and pluginPath
// are live bindings, set once before() ran.
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

/** The file's nats-server (users: ops) and the staged plugin: before its tests; homes and their local servers stopped after. */
export function useSetupServer(): void {
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
}

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
