import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsServer } from "../harness/nats-server.ts";
import { integrityProblems, readStream, tempDir } from "./helpers.ts";

const WORKER = new URL("./record-worker.ts", import.meta.url).pathname;
const STREAM = "rel-process-kill";

function startWorker(args: string[]): { child: ChildProcess; lines: AsyncIterableIterator<string>; stderr: string[] } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines, stderr };
}

test("SIGKILL of the publishing process mid-run: a second process on the same state dir drains the spool, 0 lost", async (t) => {
  const server = await NatsServer.start();
  const stateDir = tempDir();
  const nc = await connect({ servers: server.url });
  try {
    const first = startWorker(["record", server.url, stateDir, STREAM, "20000"]);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.child.once("exit", (_code, signal) => resolve(signal)));
    let lastReported = 0;
    for await (const line of first.lines) {
      const m = /^recorded (\d+)$/.exec(line);
      if (!m) continue;
      lastReported = Number(m[1]);
      if (lastReported >= 10_000) {
        first.child.kill("SIGKILL");
        break;
      }
    }
    assert.equal(await exited, "SIGKILL", first.stderr.join(""));
    const jsm = await jetstreamManager(nc);
    const storedBefore = (await jsm.streams.info(STREAM)).state.messages;
    t.diagnostic(`killed after "recorded ${lastReported}"; ${storedBefore} in the stream at that point`);
    assert.ok(storedBefore > 0, "the first process had published some events");

    const second = startWorker(["drain", server.url, stateDir, STREAM]);
    let spooled = -1;
    let status: { drained: boolean; spoolDepth: number; published: number; duplicates: number } | undefined;
    for await (const line of second.lines) {
      if (line.startsWith("depth ")) spooled = Number(line.slice(6));
      if (line.startsWith("drained ")) status = JSON.parse(line.slice(8));
    }
    assert.ok(status, second.stderr.join(""));
    t.diagnostic(`second process found ${spooled} spooled; published ${status.published}, duplicates ${status.duplicates}`);
    assert.ok(spooled > 0, "the first process left unpublished events in the spool");
    assert.equal(status.drained, true);
    assert.equal(status.spoolDepth, 0);

    const stored = await readStream(nc, STREAM);
    const numbers = stored.map((e) => e.event.payload.n as number).sort((a, b) => a - b);
    assert.ok(stored.length >= lastReported, `${stored.length} stored < ${lastReported} recorded`);
    assert.deepEqual(numbers, Array.from({ length: stored.length }, (_, i) => i), "every recorded event is there, none twice");
    assert.deepEqual(integrityProblems(stored), []);
    assert.equal(storedBefore + status.published, stored.length);
  } finally {
    await nc.close();
    await server.stop();
  }
});
