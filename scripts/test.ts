// `npm test` and `npm run test:e2e`: node:test over the given globs, files started longest first.
//
// Why a script and not `node --test <globs>`: the CLI sorts the files by path, so the long gateway
// files under test/e2e/wake*, test/harness and test/reliability started last and ran on alone at the
// end while the other slots sat idle. run() keeps the order it is given: files are started in the
// order of their last measured duration (the timing reporter's .test-timings.json, else the committed
// test/file-durations.json: measured in the runs of 2026-12-07), unknown files
// (unit tests, new files) after them, so the tail is made of short files.
import { globSync, readFileSync, createWriteStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import timingReporter from "../test/harness/timing-reporter.ts";

const patterns = process.argv.slice(2);
const files = [...new Set(patterns.flatMap((p) => globSync(p)))].filter((f) => f.endsWith(".test.ts"));
const durations = readDurations();
const known = (f: string): number => durations[f] ?? 0; // unknown files (new, or unit) after the known long ones
files.sort((a, b) => known(b) - known(a) || a.localeCompare(b));

const stream = run({
  files: files.map((f) => resolve(f)),
  concurrency: Number(process.env.TEST_CONCURRENCY ?? 4),
  timeout: 600_000,
});
stream.on("test:fail", (d: { todo?: unknown; skip?: unknown }) => {
  if (!d.todo && !d.skip) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
stream.compose(timingReporter).pipe(createWriteStream(".test-timings.txt"));

function readDurations(): Record<string, number> {
  for (const path of [".test-timings.json", "test/file-durations.json"]) {
    if (!existsSync(path)) continue;
    try {
      return JSON.parse(readFileSync(path, "utf8")) as Record<string, number>;
    } catch {
      // A broken timings file only loses the ordering.
    }
  }
  return {};
}
