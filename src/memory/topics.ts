import { STOP_WORDS as STOP } from "./words.ts";

/**
 * Active topics of a set of recent messages: the words and two-word phrases that come up in the most
 * distinct messages, stop words and chat filler left out. The RFC's capitalised-word regex finds
 * sentence starts ("The", "I", "Yes") and misses everything written in lower case; counting how many
 * messages mention a term finds what the conversation is about in any casing, and phrases keep
 * "database migration" together instead of two loose words.
 */

const NON_ASCII = /[^\x00-\x7f]/;
const PIECE = /[\p{L}\p{N}'.-]+/gu;
const EDGES = /^['.-]+|['.-]+$/g;
const LETTER = /\p{L}/u;

/** ' . - : the characters a word may hold inside but not at its edges. */
const isEdge = (c: number): boolean => c === 39 || c === 46 || c === 45;

/** Lower-cased word tokens; apostrophes, dots and hyphens stay inside words ("don't", "v2.3", "e-mail"). */
function words(text: string): string[] {
  const lower = text.toLowerCase();
  // NFKC only where it can change something: it is the costliest step for plain ASCII chat.
  const src = NON_ASCII.test(lower) ? lower.normalize("NFKC").replace(/’/g, "'") : lower;
  const out: string[] = [];
  for (const piece of src.match(PIECE) ?? []) {
    const w = isEdge(piece.charCodeAt(0)) || isEdge(piece.charCodeAt(piece.length - 1)) ? piece.replace(EDGES, "") : piece;
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
  // Every block counts the newest TOPIC_WINDOW messages, so this runs once per session start: each
  // distinct word is looked at once (id, or -1 when it is no term), and a phrase is a number made of its
  // two word ids rather than a new string per occurrence. n: messages mentioning the term; doc: the last
  // message counted (instead of a Set per message).
  const ids = new Map<string, number>();
  const names: string[] = [];
  const wordStat: Stat[] = [];
  const phraseStat = new Map<number, Stat>();
  const count = (stat: Stat | undefined, m: number, ts: number): Stat => {
    if (!stat) return { n: 1, last: ts, doc: m };
    if (stat.doc !== m) {
      stat.n++;
      stat.doc = m;
      if (ts > stat.last) stat.last = ts;
    }
    return stat;
  };
  const n = Math.min(messages.length, TOPIC_WINDOW);
  for (let m = 0; m < n; m++) {
    const { text, ts } = messages[m];
    let prev = -1;
    for (const w of words(text)) {
      let id = ids.get(w);
      if (id === undefined) {
        id = isTerm(w) ? names.push(w) - 1 : -1;
        ids.set(w, id);
      }
      if (id < 0) {
        prev = -1;
        continue;
      }
      wordStat[id] = count(wordStat[id], m, ts);
      if (prev >= 0) {
        const key = prev * PHRASE_KEY + id;
        phraseStat.set(key, count(phraseStat.get(key), m, ts));
      }
      prev = id;
    }
  }
  const frequent: Array<[string, Stat]> = [];
  for (let id = 0; id < names.length; id++) if (wordStat[id]!.n >= 2) frequent.push([names[id]!, wordStat[id]!]);
  // A phrase stands for its words when it accounts for most of their mentions.
  const covered = new Set<string>();
  for (const [key, d] of phraseStat) {
    if (d.n < 2) continue;
    const a = Math.floor(key / PHRASE_KEY);
    const b = key % PHRASE_KEY;
    frequent.push([`${names[a]} ${names[b]}`, d]);
    for (const w of [a, b]) if (wordStat[w]!.n <= d.n * 1.5) covered.add(names[w]!);
  }
  return frequent
    .filter(([term]) => !covered.has(term))
    .sort((a, b) => b[1].n - a[1].n || b[1].last - a[1].last || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([term]) => term);
}

interface Stat {
  n: number;
  last: number;
  doc: number;
}

/** Word ids are below this (TOPIC_WINDOW messages hold far fewer distinct words), so a phrase key is exact. */
const PHRASE_KEY = 2 ** 21;
