import * as chrono from "chrono-node";

/** A time window a query names ("on 1 February, 2023", "in May 2023", "last week"), and the words that named it. */
export interface NamedTime {
  from: number;
  to: number;
  words: Set<string>;
}

const DAY = 86_400_000;

/**
 * The time a query's words name, resolved against `now` (chrono-node, English). A named day is widened
 * by a day each side (a turn says "yesterday" about the day its session is dated); a month without a
 * day is the whole month. Undefined when the query names no date.
 */
export function namedTime(words: readonly string[], now: number): NamedTime | undefined {
  const text = words.join(" ");
  // chrono reads a bare number as a time of day; only a month name or a relative phrase counts here.
  let found: chrono.ParsedResult | undefined;
  try {
    found = chrono.parse(text, new Date(now), { forwardDate: false }).find((r) => r.start.isCertain("month") || /\b(last|ago|yesterday|week|month|year)\b/.test(r.text));
  } catch {
    return undefined;
  }
  if (!found) return undefined;
  const start = found.start.date().getTime();
  const named = new Set(found.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  if (found.start.isCertain("day")) {
    const day = Date.UTC(found.start.get("year") ?? 0, (found.start.get("month") ?? 1) - 1, found.start.get("day") ?? 1);
    const end = found.end ? Date.UTC(found.end.get("year") ?? 0, (found.end.get("month") ?? 1) - 1, found.end.get("day") ?? 1) + DAY : day + DAY;
    return { from: day - DAY, to: end + DAY, words: named };
  }
  if (found.start.isCertain("month")) {
    const y = found.start.get("year") ?? new Date(start).getUTCFullYear();
    const m = (found.start.get("month") ?? 1) - 1;
    return { from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1), words: named };
  }
  return { from: start - 3 * DAY, to: start + 4 * DAY, words: named };
}
