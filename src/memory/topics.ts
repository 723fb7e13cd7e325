import { STOP_WORDS as STOP } from "./words.ts";

/**
 * Active topics of a set of recent messages: the words and two-word phrases that come up in the most
 * distinct messages, stop words and chat filler left out. The RFC's capitalised-word regex finds
 * sentence starts ("The", "I", "Yes") and misses everything written in lower case; counting how many
 * messages mention a term finds what the conversation is about in any casing, and phrases keep
 * "database migration" together instead of two loose words.
 */

/** Lower-cased word tokens; apostrophes stay inside words so "don't" is one (stop) word. */
function words(text: string): string[] {
  return (text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+(?:['’\-.][\p{L}\p{N}]+)*/gu) ?? []).map((w) => w.replace(/’/g, "'"));
}

function isTerm(w: string): boolean {
  if (w.length < 3 || STOP.has(w)) return false;
  if (/^[\d.\-']+$/.test(w)) return false; // numbers, dates and versions alone say little
  return true;
}

export interface TopicInput {
  text: string;
  /** Bigger is more recent; used to break ties. */
  ts: number;
}

/**
 * Up to `max` topics, most widespread first. A term must appear in at least two messages (one mention
 * is not a topic); a phrase replaces its words when it covers most of their mentions.
 */
export function activeTopics(messages: readonly TopicInput[], max = 8): string[] {
  const docs = new Map<string, { n: number; last: number }>();
  const count = (term: string, ts: number, seen: Set<string>): void => {
    if (seen.has(term)) return;
    seen.add(term);
    const d = docs.get(term);
    if (d) {
      d.n++;
      d.last = Math.max(d.last, ts);
    } else docs.set(term, { n: 1, last: ts });
  };
  for (const m of messages) {
    const seen = new Set<string>();
    const ws = words(m.text);
    for (let i = 0; i < ws.length; i++) {
      if (!isTerm(ws[i])) continue;
      count(ws[i], m.ts, seen);
      if (i + 1 < ws.length && isTerm(ws[i + 1])) count(`${ws[i]} ${ws[i + 1]}`, m.ts, seen);
    }
  }
  const frequent = [...docs.entries()].filter(([, d]) => d.n >= 2);
  // A phrase stands for its words when it accounts for most of their mentions.
  const covered = new Set<string>();
  for (const [term, d] of frequent) {
    if (!term.includes(" ")) continue;
    for (const w of term.split(" ")) if ((docs.get(w)?.n ?? 0) <= d.n * 1.5) covered.add(w);
  }
  return frequent
    .filter(([term]) => !covered.has(term))
    .sort((a, b) => b[1].n - a[1].n || b[1].last - a[1].last || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([term]) => term);
}
