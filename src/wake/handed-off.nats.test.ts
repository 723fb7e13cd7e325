import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { WakeDispatcher } from "./dispatcher.ts";
import { DurableInbox } from "./durable-inbox.ts";
import type { WakeHost } from "./host.ts";
import { Hosting } from "./hosting.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nats = natsServerPerFile();
const dir = mkdtempSync(join(tmpdir(), "handed-off-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A host whose sessions all exist: every commit is recorded; `onCommit` runs right after one. */
function committingHost(commits: string[], onCommit: () => void = () => undefined): WakeHost {
  return {
    async enqueueInjection({ text, idempotencyKey }) {
      commits.push(text);
      onCommit();
      return { enqueued: true, id: idempotencyKey };
    },
    pendingInjections: () => 0,
    sessionsWithPending: () => [],
    enqueueSystemEvent: () => true,
    startTurn: async () => ({ runId: "r" }),
    waitTurn: async () => "ok",
  };
}

/**
 * A gateway that dies right after the host committed the message and before its ack reached the server
 * (its connection closes inside the commit), then a restarted one on the same state dir: the server
 * redelivers the message after ackWait; the restarted gateway must not hand it to the agent again.
 */
async function crashAfterCommitThenRestart(stream: string, journal: string | undefined): Promise<{ commits: string[]; skipped: number }> {
  const cfg = parseConfig({ url: nats.server.url, subjects: [`${stream.toLowerCase()}.*.inbox`], inbox: { durable: true, streamName: stream, consumerName: "gw", ackWaitMs: 1000 } });
  const commits: string[] = [];
  const first: NatsConnection = await connect({ servers: nats.server.url });
  const d1 = new WakeDispatcher(cfg, { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined }, log);
  d1.handoff.addHost(committingHost(commits, () => void first.close()));
  const dying = new DurableInbox(cfg, d1, log, new Hosting(), journal);
  await dying.start(first);
  await jetstream(nats.client).publish(`${stream.toLowerCase()}.ops.inbox`, JSON.stringify({ from: "a", body: `once in ${stream}` }));
  await first.closed();
  assert.deepEqual(commits, [`[NORMAL from a] once in ${stream}`], "committed before the crash");

  const second = await connect({ servers: nats.server.url });
  const d2 = new WakeDispatcher(cfg, { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined }, log);
  d2.handoff.addHost(committingHost(commits));
  const restarted = new DurableInbox(cfg, d2, log, new Hosting(), journal);
  await restarted.start(second);
  // The ack never left the dead gateway: the server redelivers after ackWait (1 s) and the restarted one handles it.
  const end = Date.now() + 15_000;
  while (restarted.counts.redeliveriesSkipped === 0 && commits.length < 2 && Date.now() < end) await sleep(50);
  await sleep(300);
  const skipped = restarted.counts.redeliveriesSkipped;
  await restarted.stop();
  await second.close();
  return { commits, skipped };
}

test("a durable message committed just before a crash (its ack lost) is not handed to the agent again after the restart", async () => {
  const journal = join(dir, "inbox", "HO_A.handed-off");
  const { commits, skipped } = await crashAfterCommitThenRestart("HO_A", journal);
  assert.equal(commits.length, 1, `handed to the agent once: ${JSON.stringify(commits)}`);
  assert.equal(skipped, 1, "the redelivery was acked away");
  assert.match(readFileSync(journal, "utf8"), /^HO_A:1:\d+\n$/, "the journal holds the stream, sequence and stored time");
  assert.ok(logs.some((l) => /HO_A#1 was handed to the agent before a restart; acked, not handed again/.test(l)), "said in the log");
});

test("without the journal (no state dir) the same crash hands it twice: the at-least-once the journal closes", async () => {
  const { commits } = await crashAfterCommitThenRestart("HO_B", undefined);
  assert.equal(commits.length, 2, JSON.stringify(commits));
});
