import { STOP_WORDS as STOP } from "./words.ts";

/**
 * Active topics of a set of recent messages: the words and two-word phrases that come up in the most
 * distinct messages, stop words and chat filler left out. The RFC's capitalised-word regex finds
 * sentence starts ("The", "I", "Yes") and misses everything written in lower case; counting how many
 * messages mention a term finds what the conversation is about in any casing, and phrases keep
 * "database migration" together instead of two loose words.
 */

const NON_ASCII = /[^\x00-\x7f]/;
const SEPARATORS = /[^\p{L}\p{N}'.-]+/u;
const EDGES = /^['.-]+|['.-]+$/g;
const LETTER = /\p{L}/u;

/** Lower-cased word tokens; apostrophes, dots and hyphens stay inside words ("don't", "v2.3", "e-mail"). */
function words(text: string): string[] {
  const lower = text.toLowerCase();
  // NFKC only where it can change something: it is the costliest step for plain ASCII chat.
  const src = NON_ASCII.test(lower) ? lower.normalize("NFKC").replace(/’/g, "'") : lower;
  const out: string[] = [];
  for (const piece of src.split(SEPARATORS)) {
    const w = piece.replace(EDGES, "");
    if (w) out.push(w);
  }
  return out;
}

function isTerm(w: string): boolean {
  if (w.length < 3 || STOP.has(w)) return false;
  return LETTER.test(w); // numbers, dates and versions alone say little
}

export interface TopicInput {
  text: string;
  /** Bigger is more recent; used to break ties. */
  ts: number;
}

/** "Active" means recent: topics come from the newest messages only (the rest cost time and say little about now). */
const TOPIC_WINDOW = 400;

/**
 * Up to `max` topics, most widespread first (among the newest TOPIC_WINDOW messages). A term must appear in at least two messages (one mention
 * is not a topic); a phrase replaces its words when it covers most of their mentions.
 */
export function activeTopics(messages: readonly TopicInput[], max = 8): string[] {
  // n: messages mentioning the term; doc: the last message counted (instead of a Set per message).
  const docs = new Map<string, { n: number; last: number; doc: number }>();
  const count = (term: string, m: number, ts: number): void => {
    const d = docs.get(term);
    if (!d) docs.set(term, { n: 1, last: ts, doc: m });
    else if (d.doc !== m) {
      d.n++;
      d.doc = m;
      if (ts > d.last) d.last = ts;
    }
  };
  const n = Math.min(messages.length, TOPIC_WINDOW);
  for (let m = 0; m < n; m++) {
    const { text, ts } = messages[m];
    let prev: string | undefined;
    for (const w of words(text)) {
      if (!isTerm(w)) {
        prev = undefined;
        continue;
      }
      count(w, m, ts);
      if (prev) count(`${prev} ${w}`, m, ts);
      prev = w;
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
