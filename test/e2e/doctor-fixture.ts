// The two servers and the helpers cli-doctor.e2e and cli-doctor-streams.e2e share (the two halves of
// `openclaw nats doctor`'s e2e, in two files so they run side by side). useDoctorServers() registers the
// file's before/after hooks; authServer and tokenServer are live bindings, set once before() ran.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";

export interface Check {
  id: string;
  title: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
  fix?: string;
}
export interface Doctor {
  ok: boolean;
  checks: Check[];
}

export const PASSWORD = "full-pass-Zq81x";
export const TOKEN = "s3cret-token-Kp29w";
export let authServer: NatsServer; // JetStream on, users with and without permissions
export let tokenServer: NatsServer; // token auth, JetStream off
let pluginPath: string;
const homes: OpenClawHome[] = [];

/** The file's servers: started before its tests, stopped (with every home) after them. */
export function useDoctorServers(): void {
  before(async () => {
    authServer = await NatsServer.start({
      config: `authorization { users: [
        { user: full, password: "${PASSWORD}" }
        { user: limited, password: "limited-pass-Wd4", permissions: { publish: { deny: ["openclaw.events.>"] }, subscribe: { deny: ["agent.*.inbox"] } } }
      ] }`,
    });
    tokenServer = await NatsServer.start({ jetstream: false, config: `authorization { token: "${TOKEN}" }` });
    pluginPath = natsPlugin({}).path;
  });
  after(async () => {
    for (const h of homes) h.dispose();
    await authServer?.stop();
    await tokenServer?.stop();
  });
}

export function home(natsConfig: object, extra: Parameters<typeof cliConfig>[2] = {}): OpenClawHome {
  const h = new OpenClawHome(cliConfig(pluginPath, natsConfig, extra));
  homes.push(h);
  return h;
}

/**
 * Runs doctor with --json (and, with `text`, also without, to check what a person reads). With `real`
 * through the real `openclaw` CLI (a Node process that loads the host and the plugin, ~6 CPU-s);
 * otherwise the same command code in-process with this home's config and env (OpenClawHome.runInProcess).
 */
export async function doctor(h: OpenClawHome, args: string[] = [], opts: { env?: Record<string, string>; text?: boolean; real?: boolean } = {}): Promise<{ code: number | null; out: Doctor; text: string }> {
  const run = (a: string[]) => (opts.real ? h.run(["nats", ...a], { env: opts.env }) : h.runInProcess(a, { env: opts.env }));
  const json = await run(["doctor", "--json", ...args]);
  let text = json.stdout + json.stderr;
  if (opts.text) {
    const human = await run(["doctor", ...args]);
    assert.equal(human.code, json.code, "--json and text agree on the exit code");
    assert.match(human.stdout, /fail(ed)?, \d+ warning/);
    text += human.stdout + human.stderr;
  }
  return { code: json.code, out: jsonOut<Doctor>(json), text };
}

export const byTitle = (d: Doctor, title: string): Check => {
  const c = d.checks.find((x) => x.title === title);
  assert.ok(c, `no check "${title}" in ${d.checks.map((x) => x.title).join(", ")}`);
  return c;
};
