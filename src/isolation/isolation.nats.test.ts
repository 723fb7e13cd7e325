import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager, AckPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { createUser } from "@nats-io/nkeys";
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer, serverVarPassword } from "../../test/harness/nats-server.ts";
import { memoryLogger, tempDir, testLink, waitFor } from "../../test/reliability/helpers.ts";
import { eventSpecs } from "../cli/doctor/nats-checks.ts";
import { parseConfig } from "../config/parse.ts";
import { agentInboxPrefix } from "../connection/options.ts";
import { NatsLink } from "../connection/link.ts";
import { collectEvents, eventFilter } from "../events/reader.ts";
import { EventStore } from "../events/store.ts";
import { ensureStream } from "../events/stream.ts";
import { ftsQuery } from "../memory/projection.ts";
import { MemoryService } from "../memory/service.ts";
import { errorMessage } from "../shared/logger.ts";
import { permissionsConfig, permissionsPlan } from "./permissions.ts";

/**
 * Agent A's credentials under the configuration `openclaw nats permissions` prints (run verbatim; the
 * passwords are nats-server variables set in the environment): A reads A's events and cannot read B's
 * by any JetStream API or subject; the memory feed and event_search of A work with A's credentials.
 */
const pwGateway = serverVarPassword();
const pwA = serverVarPassword();
const seedB = new TextDecoder().decode(createUser().getSeed());
const raw = (url: string) => ({
  url,
  credentials: { user: "openclaw", pass: pwGateway },
  events: {
    agents: {
      a: { streamName: "oc-a", subjectPrefix: "oc.a", credentials: { user: "agent-a", pass: pwA } },
      b: { streamName: "oc-b", subjectPrefix: "oc.b", credentials: { nkeySeed: seedB } },
      c: { streamName: "oc-c", subjectPrefix: "oc.c" },
    },
  },
});

/** A call that must be refused by the server's permissions (not fail for another reason). */
async function refused(what: string, call: () => Promise<unknown>): Promise<void> {
  let outcome: string;
  try {
    await call();
    outcome = "succeeded";
  } catch (err) {
    outcome = errorMessage(err);
  }
  if (process.env.ISO_DEBUG) console.log(what, "=>", outcome);
  assert.match(outcome, /Permissions Violation/, `${what} must be refused by the server's permissions, got: ${outcome}`);
}

describe("isolation: per-agent streams under the printed least-privilege config (real nats-server)", { timeout: 300_000 }, () => {
  let server: NatsServer;
  let text: string;
  let gw: NatsConnection;
  let ncA: NatsConnection;
  let store: EventStore;
  let link: NatsLink;

  before(async () => {
    text = permissionsConfig(permissionsPlan(parseConfig(raw("nats://127.0.0.1:4222"))));
    process.env.OPENCLAW_NATS_PASSWORD = pwGateway;
    process.env.OPENCLAW_NATS_PASSWORD_A = pwA;
    server = await NatsServer.start({ config: text });
    const cfg = parseConfig(raw(server.url));
    gw = await connect({ servers: server.url, user: "openclaw", pass: pwGateway });
    // What `openclaw nats setup` does with the gateway's user: every stream on this server, the agents' too.
    const jsm = await jetstreamManager(gw);
    for (const spec of eventSpecs(cfg)) assert.equal((await ensureStream(jsm, spec, memoryLogger())).outcome, "created", spec.name);
    // The gateway records both agents' events; each agent's go out over the agent's own connection and credentials.
    const log = memoryLogger();
    link = new NatsLink({ url: server.url, credentials: cfg.credentials, reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 }, name: "gw" }, log);
    void link.start();
    store = new EventStore({ config: cfg.events, stateDir: tempDir("iso-"), link, logger: log, publishTimeoutMs: 2000, connection: { url: server.url, credentials: cfg.credentials, reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 }, name: "gw" } });
    await store.start();
    store.record({ agent: "a", session: "agent:a:main", type: "turn.user", payload: { content: "A secret: the vault code is 1234" } });
    store.record({ agent: "b", session: "agent:b:main", type: "turn.user", payload: { content: "B secret: the bridge code is 9876" } });
    assert.equal(await store.flush(20_000), true, `flushed: ${log.lines.join("\n")}`);
    ncA = await connect({ servers: server.url, user: "agent-a", pass: pwA, inboxPrefix: agentInboxPrefix(cfg.inboxPrefix, "a") });
  });
  after(async () => {
    await store?.stop();
    await link?.stop();
    await ncA?.close();
    await gw?.close();
    await server?.stop();
  });

  it("prints no secret; agents without their own credentials are named as not isolated", () => {
    assert.ok(!text.includes(pwA) && !text.includes(pwGateway) && !text.includes(seedB), "no password or seed in the output");
    assert.match(text, /password: \$OPENCLAW_NATS_PASSWORD_A/);
    assert.match(text, /nkey: "U[A-Z2-7]{55}"/);
    assert.match(text, /# agent c: no credentials of its own/);
    assert.ok(!text.includes("$JS.API.>"));
    const bad = permissionsPlan(parseConfig({ events: { agents: { x: { credentials: { user: "x", pass: "p" } }, y: { streamName: "y", subjectPrefix: "openclaw.events.y", credentials: { token: "t0ken-abc" } } } } }));
    assert.match(bad.problems.join("\n"), /agent x: its stream "openclaw-events" is also the default stream's/);
    assert.match(bad.problems.join("\n"), /agent y: its subjects openclaw\.events\.y\.> overlap the default stream's/);
    assert.match(bad.problems.join("\n"), /token auth/);
  });

  it("each agent's events are in its own stream, published with its own credentials", async () => {
    const jsm = await jetstreamManager(gw);
    assert.equal((await jsm.streams.info("oc-a")).state.messages, 1);
    assert.equal((await jsm.streams.info("oc-b")).state.messages, 1);
    const status = await store.status();
    for (const lane of status.lanes) assert.equal(lane.failures, 0, `${lane.name}: ${status.lastError}`);
  });

  it("A's credentials read A's events: ordered consumer (filtered), stream info, STREAM.MSG.GET, DIRECT.GET", async () => {
    const events = await collectEvents(ncA, { stream: "oc-a", subjects: [eventFilter("oc.a", "a")] });
    assert.deepEqual(events.map((e) => e.event?.payload.content), ["A secret: the vault code is 1234"]);
    const typed = await collectEvents(ncA, { stream: "oc-a", subjects: [eventFilter("oc.a", "a", "turn.user")] });
    assert.equal(typed.length, 1);
    const jsm = await jetstreamManager(ncA);
    assert.equal((await jsm.streams.info("oc-a")).state.messages, 1);
    assert.match((await jsm.streams.getMessage("oc-a", { seq: 1 }))?.string() ?? "", /vault code/);
    assert.match((await jsm.direct.getMessage("oc-a", { seq: 1 }))?.string() ?? "", /vault code/);
    assert.match((await jsm.direct.getMessage("oc-a", { last_by_subj: "oc.a.a.turn_user" }))?.string() ?? "", /vault code/);
  });

  it("A's credentials cannot read B's events by any API, change streams, or snoop replies", async () => {
    const jsm: JetStreamManager = await jetstreamManager(ncA, { checkAPI: false, timeout: 2000 });
    await refused("STREAM.INFO of B", () => jsm.streams.info("oc-b"));
    await refused("STREAM.MSG.GET of B", () => jsm.streams.getMessage("oc-b", { seq: 1 }));
    await refused("DIRECT.GET of B", () => jsm.direct.getMessage("oc-b", { seq: 1 }));
    await refused("DIRECT.GET last of B's subject", () => jsm.direct.getMessage("oc-b", { last_by_subj: "oc.b.b.turn_user" }));
    await refused("ordered consumer on B", () => collectEvents(ncA, { stream: "oc-b", subjects: [eventFilter("oc.b", "b")], timeoutMs: 2000 }));
    await refused("filtered consumer on B (new API)", () => jsm.consumers.add("oc-b", { name: "peek", filter_subject: "oc.b.b.>", ack_policy: AckPolicy.None }));
    await refused("ephemeral consumer on B", () => jsm.consumers.add("oc-b", { ack_policy: AckPolicy.None }));
    await refused("durable consumer on B", () => jsm.consumers.add("oc-b", { durable_name: "steal", ack_policy: AckPolicy.None }));
    await refused("unfiltered consumer on A's own stream via the old API", () => ncA.request("$JS.API.CONSUMER.CREATE.oc-a", JSON.stringify({ stream_name: "oc-a", config: { ack_policy: "none" } }), { timeout: 2000 }));
    await refused("the default stream", () => jsm.streams.getMessage("openclaw-events", { seq: 1 }));
    await refused("stream list", () => jsm.streams.list().next());
    await refused("stream names", () => jsm.streams.names().next());
    await refused("update of A's own stream to capture B's subjects", () => jsm.streams.update("oc-a", { subjects: ["oc.a.>", "oc.b.>"] }));
    await refused("a stream of its own making", () => jsm.streams.add({ name: "grab", subjects: ["agent.>"] }));
    await refused("purge of B", () => jsm.streams.purge("oc-b"));
    await refused("any other $JS.API subject", () => ncA.request("$JS.API.ACCOUNT.PURGE.OPENCLAW", "", { timeout: 2000 }));

    // Core subjects: B's event subjects, everyone's inboxes, the lot.
    for (const subject of ["oc.b.b.turn_user", "oc.b.>", "_INBOX.>", ">"]) {
      const sub = ncA.subscribe(subject);
      await refused(`subscribe ${subject}`, () =>
        Promise.race([sub.closed.then((e) => { if (e) throw e; throw new Error("closed without error"); }), new Promise((_, reject) => setTimeout(() => reject(new Error("timeout: not closed")), 3000))]),
      );
    }
    // Forging B's events: refused by the server, B's stream unchanged.
    ncA.publish("oc.b.b.turn_user", JSON.stringify({ forged: true }));
    await ncA.flush().catch(() => {});
    await refused("JetStream publish into B's stream", () => jetstream(ncA, { timeout: 2000 }).publish("oc.b.b.turn_user", "forged"));
    assert.equal((await (await jetstreamManager(gw)).streams.info("oc-b")).state.messages, 1);
    // A's connection is still good after all that.
    assert.equal((await collectEvents(ncA, { stream: "oc-a", subjects: [eventFilter("oc.a", "a")] })).length, 1);
  });

  it("B's nkey user reads B's events; A's password cannot log in as anyone else", async () => {
    const ncB = await connect({ servers: server.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seedB)), inboxPrefix: agentInboxPrefix(undefined, "b") });
    try {
      const events = await collectEvents(ncB, { stream: "oc-b", subjects: [eventFilter("oc.b", "b")] });
      assert.deepEqual(events.map((e) => e.event?.payload.content), ["B secret: the bridge code is 9876"]);
      await refused("B reading A", () => jetstreamManager(ncB, { checkAPI: false, timeout: 2000 }).then((j) => j.streams.getMessage("oc-a", { seq: 1 })));
    } finally {
      await ncB.close();
    }
    await assert.rejects(connect({ servers: server.url, user: "openclaw", pass: pwA, maxReconnectAttempts: 0 }), /Authorization/i);
  });

  it("the memory feed and event_search of A work with A's credentials (a fresh gateway state, read from the stream)", async () => {
    const cfg = parseConfig(raw(server.url));
    const log = memoryLogger();
    const stateDir = tempDir("iso-mem-");
    const link2 = testLink(server.url, log);
    const gwLink = new NatsLink({ url: server.url, credentials: cfg.credentials, reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 }, name: "gw2" }, log);
    void gwLink.start();
    const store2 = new EventStore({ config: cfg.events, stateDir, link: gwLink, logger: log, publishTimeoutMs: 2000, connection: { url: server.url, credentials: cfg.credentials, reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 1000 }, name: "gw2" } });
    await store2.start();
    const memory = new MemoryService({ cfg, stateDir, events: store2, link: gwLink, logger: log });
    memory.start();
    try {
      const search = (agentId: string, words: string) => memory.search({ agentId, sessionKey: `agent:${agentId}:main`, match: ftsQuery(words) ?? "", limit: 5 });
      await waitFor("A's events through A's feed", async () => (await search("a", "vault")).length > 0, 30_000).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}\n${JSON.stringify(memory.status().sources)}\n${log.lines.join("\n")}`);
      });
      assert.match((await search("a", "vault"))[0].row.text, /vault code is 1234/);
      assert.deepEqual(await search("a", "bridge"), [], "A's memory has none of B's words");
      const block = await memory.context({ agentId: "a", sessionKey: "agent:a:main", prompt: "hello" });
      assert.match(block ?? "", /vault code is 1234/);
      const aSources = memory.status().sources.filter((s) => s.stream === "oc-a");
      assert.ok(aSources.length > 0);
      for (const s of aSources) assert.equal(s.lastError, undefined, `${s.subject}: ${s.lastError}`);
      assert.ok(!log.lines.some((l) => /permission/i.test(l) && /oc-a|agent-a|oc\.a/.test(l)), log.lines.filter((l) => /permission/i.test(l)).join("\n"));
    } finally {
      await memory.stop();
      await store2.stop();
      await gwLink.stop();
      await link2.stop();
    }
  });
});
