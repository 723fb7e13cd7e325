import * as chrono from "chrono-node";

/** A time window a query names ("on 1 February, 2023", "in May 2023", "last week"), and the words that named it. */
export interface NamedTime {
  from: number;
  to: number;
  words: Set<string>;
}

const DAY = 86_400_000;
/** Only the start of a long text is read for a date (a prompt can be long; chrono's cost grows with it). */
export const MAX_DATE_TEXT = 1000;
const RELATIVE = /\b(last|ago|yesterday|week|weeks|month|months|year|years|before|after)\b/i;

/**
 * The time a query names, resolved against `now` (chrono-node, English), read from the query as typed:
 * the FTS words have lost their stop words ("may" among them, so "in May 2023" would not be a date) and
 * their case. A named day is widened by a day each side (a turn says "yesterday" about the day its
 * session is dated); a phrase about a week spans that week; a month without a day is the whole month.
 * Memory is about the past, so a month or day without a year is the latest one up to `now` (chrono
 * picks the closest, which can be next year's). Undefined when the query names no date.
 */
export function namedTime(query: string, now: number): NamedTime | undefined {
  const text = query.slice(0, MAX_DATE_TEXT);
  let found: chrono.ParsedResult | undefined;
  try {
    found = chrono.parse(text, new Date(now), { forwardDate: false }).find((r) => accepted(r, text));
  } catch {
    return undefined;
  }
  if (!found) return undefined;
  const named = new Set(found.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const yearShift = !found.start.isCertain("year") && !RELATIVE.test(found.text) && found.start.date().getTime() > now ? -1 : 0;
  const get = (c: chrono.ParsedComponents | null, unit: "year" | "month" | "day"): number => (c?.get(unit) ?? (unit === "year" ? new Date(now).getUTCFullYear() : 1)) + (unit === "year" ? yearShift : 0);
  if (found.start.isCertain("day")) {
    const day = Date.UTC(get(found.start, "year"), get(found.start, "month") - 1, get(found.start, "day"));
    if (/\bweeks?\b/i.test(found.text)) return { from: day - DAY, to: day + 8 * DAY, words: named };
    const end = found.end ? Date.UTC(get(found.end, "year"), get(found.end, "month") - 1, get(found.end, "day")) + DAY : day + DAY;
    return { from: day - DAY, to: end + DAY, words: named };
  }
  if (found.start.isCertain("month")) {
    const y = get(found.start, "year");
    const m = get(found.start, "month") - 1;
    return { from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1), words: named };
  }
  const start = found.start.date().getTime();
  return { from: start - 3 * DAY, to: start + 4 * DAY, words: named };
}

/**
 * Which of chrono's readings count. A bare number or weekday is read as a time of day or the coming
 * day, which a question rarely means; a month name alone is a date only when written as one ("in May",
 * not "she may", "did they march"): capitalised, or with a day or year beside it. Relative phrases
 * ("last week", "two weeks before August 11") count.
 */
function accepted(r: chrono.ParsedResult, text: string): boolean {
  if (RELATIVE.test(r.text)) return true;
  if (!r.start.isCertain("month")) return false;
  if (r.start.isCertain("day") || r.start.isCertain("year")) return true;
  const first = text.slice(r.index).match(/\p{L}/u)?.[0] ?? "";
  return first !== first.toLowerCase();
}

/** A question about a time ("when did…", "what year…", "how long ago…"): its answer is a turn that says when. */
export function asksWhen(query: string): boolean {
  return /\b(when|what (year|month|day|date|time)|which (year|month|day|date)|how long ago)\b/i.test(query.slice(0, MAX_DATE_TEXT));
}

const TIME_WORDS = /\b(yesterday|today|tonight|tomorrow|last|next|ago|since|recently|weekend|week|weeks|month|months|year|years|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|august|september|october|november|december|(19|20)\d\d)\b/i;
/** Whether a text says when something happened (plain English time words; no parse: this runs on every candidate). */
export function tellsTime(text: string): boolean {
  return TIME_WORDS.test(text);
}
