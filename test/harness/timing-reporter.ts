/**
 * A node:test reporter that writes each test file's wall time (first event to last) and the run's
 * totals; `.ci/run` prints its ten slowest files. Used beside the spec reporter (package.json).
 */
type Event = { type: string; data?: { file?: string } };

export default async function* timingReporter(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const started = Date.now();
  const files = new Map<string, { first: number; last: number }>();
  for await (const event of source) {
    const file = event.data?.file;
    if (file) {
      const now = Date.now();
      const f = files.get(file) ?? { first: now, last: now };
      f.last = now;
      files.set(file, f);
    }
  }
  const rows = [...files].map(([file, f]) => ({ file: file.replace(`${process.cwd()}/`, ""), ms: f.last - f.first }));
  rows.sort((a, b) => b.ms - a.ms);
  yield `suite wall time: ${((Date.now() - started) / 1000).toFixed(0)} s over ${rows.length} files\n`;
  yield "slowest files:\n";
  for (const r of rows.slice(0, 10)) yield `  ${(r.ms / 1000).toFixed(0).padStart(5)} s  ${r.file}\n`;
}
