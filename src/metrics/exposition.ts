import type { BucketCounts } from "../shared/reservoir.ts";

// The Prometheus text exposition format (version 0.0.4), written by hand: every figure here is read at
// scrape time from counters the plugin already keeps, which fits a renderer better than a client
// library's push-style registry (prom-client's Counter cannot be set to a value it did not count).

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const PREFIX = "openclaw_nats_";

export type MetricType = "counter" | "gauge" | "histogram";

export type Labels = Readonly<Record<string, string>>;

export type Sample = { labels?: Labels; value: number } | { labels?: Labels; histogram: BucketCounts };

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  /**
   * Every label the family may carry and the only values it may take: a bounded set, never a
   * sender-chosen string. A sample with another label or value is not written (see render's `dropped`).
   */
  labels?: Readonly<Record<string, readonly string[]>>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricDefinitionError extends Error {
  override readonly name = "MetricDefinitionError";
}

/** A family's name and labels follow the conventions (prefix, `_total` counters, unit suffixes), or it throws. */
export function checkFamily(f: Family): void {
  if (!NAME.test(f.name) || !f.name.startsWith(PREFIX)) throw new MetricDefinitionError(`metric ${JSON.stringify(f.name)}: names start with ${PREFIX} and use [a-zA-Z0-9_:]`);
  if (f.type === "counter" && !f.name.endsWith("_total")) throw new MetricDefinitionError(`counter ${f.name} must end in _total`);
  if (f.type !== "counter" && f.name.endsWith("_total")) throw new MetricDefinitionError(`${f.type} ${f.name} must not end in _total`);
  if (f.type === "histogram" && !/_(seconds|bytes)$/.test(f.name)) throw new MetricDefinitionError(`histogram ${f.name} must name its unit (_seconds or _bytes)`);
  for (const l of Object.keys(f.labels ?? {})) {
    if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") throw new MetricDefinitionError(`metric ${f.name}: label name ${JSON.stringify(l)} is not allowed`);
  }
}

/** Label values: backslash, double quote and line feed escaped (the format's only three). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
}

/** Labels within the family's declared bounds (names declared, values from the declared set). */
function inBounds(f: Family, labels: Labels | undefined): boolean {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const allowed = f.labels?.[k];
    if (!allowed || !allowed.includes(v)) return false;
  }
  return true;
}

/**
 * The exposition text for `families`, and how many samples were left out for a label outside the
 * family's bounds (a programming error, surfaced as its own metric rather than a broken scrape).
 */
export function render(families: readonly Family[]): { text: string; dropped: number } {
  const out: string[] = [];
  let dropped = 0;
  for (const f of families) {
    checkFamily(f);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      if (!inBounds(f, s.labels)) {
        dropped++;
        continue;
      }
      if ("histogram" in s) {
        if (f.type !== "histogram") throw new MetricDefinitionError(`${f.type} ${f.name} given a histogram sample`);
        const h = s.histogram;
        h.le.forEach((le, i) => out.push(`${f.name}_bucket${labelText(s.labels, ["le", formatValue(le)])} ${h.counts[i]}`));
        out.push(`${f.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${h.count}`);
        out.push(`${f.name}_sum${labelText(s.labels)} ${formatValue(h.sumSeconds)}`, `${f.name}_count${labelText(s.labels)} ${h.count}`);
      } else {
        if (f.type === "histogram") throw new MetricDefinitionError(`histogram ${f.name} given a plain value`);
        out.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      }
    }
  }
  return { text: `${out.join("\n")}\n`, dropped };
}
