import { STOP_WORDS } from "./words.ts";

/**
 * Words of a free-text query as an FTS5 OR-expression of quoted terms (no operator can be injected).
 * Stop words are dropped unless the query has nothing else.
 */
export function ftsQuery(text: string, maxTerms = 32): string | undefined {
  const all = [...new Set((text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 || /\p{N}/u.test(w)))];
  const content = all.filter((w) => !STOP_WORDS.has(w));
  const words = content.length > 0 ? content : all;
  if (words.length === 0) return undefined;
  return words
    .slice(0, maxTerms)
    .map((w) => `"${w}"`)
    .join(" OR ");
}

/** Name words of a speaker ("Caroline", "telegram:alice" → alice): what a question may call them by. */
export function speakerTokens(speaker: string | null): string[] {
  if (!speaker) return [];
  const words = (speaker.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 3 && /^\p{L}/u.test(w) && !STOP_WORDS.has(w) && !CHANNEL_WORDS.has(w));
  // A sender controls its name: a few words of it at most.
  return [...new Set(words)].slice(0, 4);
}
const CHANNEL_WORDS: ReadonlySet<string> = new Set(["telegram", "discord", "slack", "whatsapp", "signal", "imessage", "matrix", "nats", "agent", "user", "direct", "group", "channel", "main"]);
