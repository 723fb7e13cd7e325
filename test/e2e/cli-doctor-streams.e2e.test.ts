// `openclaw nats doctor` through the real CLI against real nats-servers set up wrong on purpose:
// each check must fail (or warn) when it should, say why, and never print a secret.
// (Streams, permissions and the spool: the second half of cli-doctor, in its own file so both halves run side by side.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { join } from "node:path";
import { Spool } from "../../src/spool/spool.ts";
import { authServer, PASSWORD, home, doctor, byTitle, useDoctorServers } from "./doctor-fixture.ts";

useDoctorServers();

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
