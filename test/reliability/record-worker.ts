/**
 * A stand-in for a gateway process, run by process-kill.test.ts:
 *   node record-worker.ts record <natsUrl> <stateDir> <stream> <total>  → records events, printing "recorded N" per burst, then idles
 *   node record-worker.ts drain  <natsUrl> <stateDir> <stream>          → prints "depth N" at start, drains the spool, prints "drained <json status>"
 */
import { EventStore } from "../../src/events/store.ts";
import type { Logger } from "../../src/shared/logger.ts";
import { eventsConfig, testLink } from "./helpers.ts";
import { produce } from "./producer.ts";

const [mode, url, stateDir, stream, totalArg] = process.argv.slice(2);
const log: Logger = { info: () => {}, warn: (m) => console.error(m), error: (m) => console.error(m) };
const link = testLink(url, log, `record-worker-${mode}`);
void link.start();
const store = new EventStore({ config: eventsConfig({ streamName: stream }), stateDir, link, logger: log, publishTimeoutMs: 2000 });
await store.start();

if (mode === "record") {
  await produce(store, {
    total: Number(totalArg),
    sessions: 10,
    // ~100k/s offered, more than the drain takes: the kill finds a backlog and a full publish window.
    perTick: 1000,
    tickMs: 10,
    onProgress: (n) => {
      process.stdout.write(`recorded ${n}\n`);
    },
  });
  process.stdout.write("done\n");
  setInterval(() => {}, 60_000); // keep publishing until killed
} else {
  process.stdout.write(`depth ${(await store.status()).spoolDepth}\n`);
  const drained = await store.flush(60_000);
  const status = await store.status();
  process.stdout.write(`drained ${JSON.stringify({ drained, ...status })}\n`);
  await store.stop();
  await link.stop();
}
