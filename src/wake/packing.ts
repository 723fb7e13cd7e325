// How waiting wake texts become next-turn injection entries: in order, packed up to the host's entry size.

/** The host's limits for next-turn injections (host-hook-state: per entry, and per plugin per session). */
export const MAX_ENTRY_CHARS = 32_768;
export const MAX_ENTRIES = 32;

/** A waiting text; one with a key (an idempotent hand-off) is never packed with others. */
export interface Packable {
  text: string;
  key?: string;
}

/** The waiting messages that go together: in order, joined by newlines, within one entry's size (a bigger single message goes alone and is split by packEntries). */
export function takeBatch<T extends Packable>(items: T[]): T[] {
  const batch: T[] = [items.shift()!];
  if (batch[0]!.key) return batch; // keyed: its own entry
  let size = batch[0]!.text.length;
  while (items.length > 0 && !items[0]!.key && size + 1 + items[0]!.text.length <= MAX_ENTRY_CHARS) {
    const next = items.shift()!;
    size += 1 + next.text.length;
    batch.push(next);
  }
  return batch;
}

/** Texts → entry texts of at most MAX_ENTRY_CHARS; a text longer than that is cut into consecutive parts. */
export function packEntries(texts: string[]): string[] {
  const joined = texts.join("\n");
  if (joined.length <= MAX_ENTRY_CHARS) return [joined];
  const out: string[] = [];
  for (let i = 0; i < joined.length; i += MAX_ENTRY_CHARS) out.push(joined.slice(i, i + MAX_ENTRY_CHARS));
  return out;
}

