import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** One line of a benchmark table. */
export interface Row {
  id: string;
  scenario: string;
  /** Main figure, e.g. events/s or µs. */
  value: number;
  unit: string;
  /** Target or seed figure to print beside, as text ("≥ 20,000", "seed 3,800"). */
  compare?: string;
  /** true/false when a target applies; undefined when the row is informational. */
  meetsTarget?: boolean;
  detail?: string;
}

const fmt = (n: number): string => (Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 2 }));

export function printTable(title: string, rows: Row[]): void {
  const cells = rows.map((r) => [
    r.id,
    r.scenario,
    `${fmt(r.value)} ${r.unit}`,
    r.compare ?? "",
    r.meetsTarget === undefined ? "" : r.meetsTarget ? "yes" : "NO",
    r.detail ?? "",
  ]);
  const header = ["", "scenario", "measured", "target / seed", "met", "detail"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 2 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(" │ ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "─".repeat(w)).join("─┼─"));
  for (const c of cells) console.log(line(c));
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
}
