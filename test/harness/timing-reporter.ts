import { writeFileSync } from "node:fs";

/**
 * A node:test reporter that writes each test file's wall time and the run's total; `.ci/run` prints
 * its ten slowest files. Used beside the spec reporter (package.json).
 *
 * Why `test:complete` at nesting 0: with process isolation the runner enqueues every file at start, so
 * "first event to last" measures the whole run for every file. Each file also completes as a nesting-0
 * test of its own whose duration is the file's wall time; it is the largest nesting-0 duration the file
 * reports, so the maximum is kept (a file without that event still gets its longest top-level test).
 */
type Event = { type: string; data?: { file?: string; nesting?: number; details?: { duration_ms?: number } } };

export default async function* timingReporter(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const started = Date.now();
  const files = new Map<string, number>();
  for await (const event of source) {
    const d = event.data;
    // Tests defined in a module a test file imports carry that module as their file: count test files only.
    if (event.type !== "test:complete" || d?.nesting !== 0 || !d.file?.endsWith(".test.ts")) continue;
    const ms = d.details?.duration_ms ?? 0;
    files.set(d.file, Math.max(files.get(d.file) ?? 0, ms));
  }
  const rows = [...files].map(([file, ms]) => ({ file: file.replace(`${process.cwd()}/`, ""), ms }));
  rows.sort((a, b) => b.ms - a.ms);
  // The next run starts its files longest first from these (scripts/test.ts).
  writeFileSync(".test-timings.json", `${JSON.stringify(Object.fromEntries(rows.map((r) => [r.file, Math.round(r.ms)])), null, 1)}\n`);
  const sum = rows.reduce((s, r) => s + r.ms, 0);
  yield `suite wall time: ${((Date.now() - started) / 1000).toFixed(0)} s over ${rows.length} files (files' own times add up to ${(sum / 1000).toFixed(0)} s)\n`;
  yield "slowest files:\n";
  for (const r of rows.slice(0, 10)) yield `  ${(r.ms / 1000).toFixed(0).padStart(5)} s  ${r.file}\n`;
}
