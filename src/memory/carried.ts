import type { Exclusion } from "./projection.ts";

/** Text reduced to what makes two messages "the same": lower case, words only. */
export function dedupKey(text: string): string {
  return text.toLowerCase().normalize("NFKC").replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** Longest prompt compared in full; a longer one is compared by its start and end (bounded work per row). */
const MAX_PROMPT_KEY = 16_384;

/** The keys of what a turn carries, ready for `carried` (computed once per query, not once per row). */
export function carriedKeys(texts: readonly string[]): string[] {
  return texts.map((t) => {
    const k = dedupKey(t);
    return ` ${k.length > MAX_PROMPT_KEY ? `${k.slice(0, MAX_PROMPT_KEY / 2)} ${k.slice(-MAX_PROMPT_KEY / 2)}` : k} `;
  });
}

/**
 * Whether the turn already carries this text: its words appear, whole and in order, inside one of the
 * turn's texts. That covers the message itself, a wake body inside its `[PRIORITY from x]` frame, a
 * relayed or agent-protocol prompt the host wrapped in a channel envelope, and batched messages.
 */
export function carried(text: string, keys: readonly string[]): boolean {
  const k = dedupKey(text);
  if (!k) return false;
  return keys.some((p) => p.includes(` ${k} `));
}

/** What a query leaves out, as a filter over rows (the session part is already done in SQL). */
export function notCarried(exclude: Exclusion | undefined): (row: { text: string }) => boolean {
  const keys = exclude ? carriedKeys(exclude.texts) : [];
  return keys.length === 0 ? () => true : (row) => !carried(row.text, keys);
}
