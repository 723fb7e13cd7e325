// `openclaw nats doctor` through the real CLI against real nats-servers set up wrong on purpose:
// each check must fail (or warn) when it should, say why, and never print a secret.
// (Streams, permissions and the spool: the second half of cli-doctor, in its own file so both halves run side by side.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { join } from "node:path";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { OpenClawHome, cliConfig, jsonOut } from "../harness/openclaw-cli.ts";
import { Spool } from "../../src/spool/spool.ts";

interface Check {
  id: string;
  title: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
  fix?: string;
}
interface Doctor {
  ok: boolean;
  checks: Check[];
}

const PASSWORD = "full-pass-Zq81x";
const TOKEN = "s3cret-token-Kp29w";
let authServer: NatsServer; // JetStream on, users with and without permissions
let tokenServer: NatsServer; // token auth, JetStream off
let pluginPath: string;
const homes: OpenClawHome[] = [];

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

function home(natsConfig: object, extra: Parameters<typeof cliConfig>[2] = {}): OpenClawHome {
  const h = new OpenClawHome(cliConfig(pluginPath, natsConfig, extra));
  homes.push(h);
  return h;
}

/**
 * Runs doctor with --json (and, with `text`, also without, to check what a person reads). With `real`
 * through the real `openclaw` CLI (a Node process that loads the host and the plugin, ~6 CPU-s);
 * otherwise the same command code in-process with this home's config and env (OpenClawHome.runInProcess).
 */
async function doctor(h: OpenClawHome, args: string[] = [], opts: { env?: Record<string, string>; text?: boolean; real?: boolean } = {}): Promise<{ code: number | null; out: Doctor; text: string }> {
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

const byTitle = (d: Doctor, title: string): Check => {
  const c = d.checks.find((x) => x.title === title);
  assert.ok(c, `no check "${title}" in ${d.checks.map((x) => x.title).join(", ")}`);
  return c;
};


test("doctor: a stream with another storage type fails (must be recreated); other differences warn (the gateway updates them)", async () => {
  const nc = await connect({ servers: authServer.url, user: "full", pass: PASSWORD });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "mem-events", subjects: ["memtest.>"], storage: StorageType.Memory });
  await jsm.streams.add({ name: "aged-events", subjects: ["agedtest.>"], storage: StorageType.File, max_age: 3_600_000_000_000 });
  try {
    const creds = { user: "full", pass: PASSWORD };
    const mem = await doctor(home({ url: authServer.url, credentials: creds, events: { streamName: "mem-events", subjectPrefix: "memtest" } }));
    const memCheck = byTitle(mem.out, "stream mem-events");
    assert.equal(memCheck.status, "fail");
    assert.match(memCheck.detail, /storage is "memory"/);
    assert.match(memCheck.fix ?? "", /nats stream rm mem-events/);
    assert.equal(mem.code, 1);
    const aged = await doctor(home({ url: authServer.url, credentials: creds, events: { streamName: "aged-events", subjectPrefix: "agedtest" } }));
    const agedCheck = byTitle(aged.out, "stream aged-events");
    assert.equal(agedCheck.status, "warn");
    assert.match(agedCheck.detail, /max_age 3600000000000→0/);
  } finally {
    await jsm.streams.delete("mem-events");
    await jsm.streams.delete("aged-events");
    await nc.close();
  }
});

test("doctor: a user without subscribe/publish permission on the plugin's subjects fails both, naming the subjects", async () => {
  const h = home({ url: authServer.url, credentials: { user: "limited", pass: "limited-pass-Wd4" } });
  const { code, out, text } = await doctor(h, [], { text: true, real: true });
  assert.equal(code, 1);
  const sub = byTitle(out, "subscribe permission");
  assert.equal(sub.status, "fail");
  assert.match(sub.detail, /agent\.\*\.inbox/);
  assert.match(sub.fix ?? "", /permissions\.subscribe/);
  const pub = byTitle(out, "publish permission");
  assert.equal(pub.status, "fail");
  assert.match(pub.detail, /openclaw\.events\.>/);
  assert.ok(!text.includes("limited-pass-Wd4"));
  // The probe stored nothing: a permitted probe is refused by the stream, a forbidden one never arrives.
  const nc = await connect({ servers: authServer.url, user: "full", pass: PASSWORD });
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const s of jsm.streams.list()) names.push(s.config.name);
  assert.ok(!names.some((n) => n.startsWith("OPENCLAW_DOCTOR_")), "the clock check's scratch stream is deleted");
  await nc.close();
});

test("doctor: a spool left by an earlier run is a backlog with its age; a skewed clock is caught", async () => {
  const h = home({ url: authServer.url, credentials: { user: "full", pass: PASSWORD } });
  const spool = Spool.open({ path: join(h.pluginDir, "event-spool.sqlite"), maxBytes: 1 << 20 });
  const tenMinutesAgo = (Date.now() - 600_000).toString(16).padStart(12, "0");
  const id = `${tenMinutesAgo.slice(0, 8)}-${tenMinutesAgo.slice(8)}-7000-8000-000000000001`;
  spool.append("default", id, "openclaw.events.main.msg_in", "{}", 2);
  spool.append("default", `${tenMinutesAgo.slice(0, 8)}-${tenMinutesAgo.slice(8)}-7001-8000-000000000002`, "openclaw.events.main.msg_in", "{}", 2);
  spool.close();
  // Five minutes ahead here: what a machine without NTP drifts into.
  const skew = { NODE_OPTIONS: "--import=data:text/javascript,const%20n%3DDate.now%3BDate.now%3D()%3D%3En()%2B300000%3B" };
  const { code, out } = await doctor(h, [], { env: skew, real: true }); // NODE_OPTIONS shifts the CLI process's clock
  const sp = byTitle(out, "spool");
  assert.equal(sp.status, "warn");
  assert.match(sp.detail, /^2 event\(s\) from an earlier run wait in .*event-spool\.sqlite, the oldest for (10|1[0-9]) min/);
  assert.match(sp.fix ?? "", /start the gateway/);
  const clock = byTitle(out, "clock");
  assert.equal(clock.status, "fail");
  assert.match(clock.detail, /server − here = -(29\d|30\d)\.\d+ s/);
  assert.match(clock.fix ?? "", /NTP/);
  assert.equal(code, 1);
});
