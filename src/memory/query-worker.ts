import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../shared/logger.ts";
import { runQuery, type QueryRequest } from "./queries-core.ts";
import { Projection } from "./projection.ts";

// The memory query worker: reads the projection (read-only, next to the gateway's writer) off the
// gateway's event loop, so a turn can stop waiting for its block after memory.timeoutMs.

const port = parentPort;
if (!port) throw new Error("query-worker must run in a worker thread");
const { path } = workerData as { path: string };
let projection: Projection | undefined;

port.on("message", (msg: { id: number; request: QueryRequest }) => {
  try {
    projection ??= Projection.openReadOnly(path);
    port.postMessage({ id: msg.id, ok: true, result: runQuery(projection, msg.request) });
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: errorMessage(err) });
  }
});
