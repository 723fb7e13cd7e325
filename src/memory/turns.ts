import type { Exclusion } from "./projection.ts";

/** Sessions whose running context is remembered (oldest forgotten first). */
const MAX_TRACKED_SESSIONS = 4096;
/** What one session's carried texts may hold (newest kept): 8 full prompts, or four packed wake entries. */
const MAX_TRACKED_CHARS = 8 * 16_384;
/** One tracked text; a longer one is split (see pieces). */
const MAX_TRACKED_PROMPT_CHARS = 16_384;

/**
 * What the running turn of each session carries, so that neither the session-start block nor
 * event_search shows it back: when the session started (its own rows since then are left out) and the
 * texts its turns carried (the prompt, and the next-turn injections the host appends after it).
 */
export class CarriedTurns {
  private readonly current = new Map<string, { since: number; texts: string[] }>();
  /** Next-turn injections the host is about to hand a session's coming turn, taken by that turn's noteTurn. */
  private readonly injected = new Map<string, string[]>();

  /**
   * The host is preparing a turn in `sessionKey` that carries these next-turn injections (wake messages,
   * appended after the prompt; agent_turn_prepare). before_prompt_build, which builds the block, sees only
   * the prompt, so the texts wait here for that turn's noteTurn.
   */
  noteInjected(sessionKey: string | undefined, texts: readonly string[]): void {
    if (!sessionKey) return;
    this.injected.delete(sessionKey);
    if (texts.length > 0) this.injected.set(sessionKey, [...texts]);
    while (this.injected.size > MAX_TRACKED_SESSIONS) this.injected.delete(this.injected.keys().next().value as string);
  }

  /**
   * A turn is about to run in `sessionKey` with `prompt`: a first turn starts the session (what it held
   * before is history again), every turn adds what it carries (its prompt and the injections noted for
   * it). Bounded: the oldest sessions are forgotten, and a session keeps its newest MAX_TRACKED_CHARS.
   * Returns the injections it took (the words the turn answers besides its prompt).
   */
  noteTurn(sessionKey: string | undefined, prompt: string | undefined, firstTurn: boolean, now = Date.now()): string[] {
    if (!sessionKey) return [];
    let cur = this.current.get(sessionKey);
    if (!cur || firstTurn) cur = { since: now, texts: [] };
    this.current.delete(sessionKey);
    this.current.set(sessionKey, cur);
    const injected = this.injected.get(sessionKey) ?? [];
    this.injected.delete(sessionKey);
    const added = [prompt ?? "", ...injected].flatMap(pieces);
    if (added.length > 0) {
      const texts = [...cur.texts, ...added];
      let total = 0;
      let from = texts.length;
      while (from > 0 && total + texts[from - 1]!.length <= MAX_TRACKED_CHARS) total += texts[--from]!.length;
      cur.texts = texts.slice(from);
    }
    while (this.current.size > MAX_TRACKED_SESSIONS) this.current.delete(this.current.keys().next().value as string);
    return injected;
  }

  /** What a read for this session leaves out (see Exclusion); undefined for a session not seen since start. */
  exclusion(sessionKey: string | undefined): Exclusion | undefined {
    const cur = sessionKey ? this.current.get(sessionKey) : undefined;
    return cur ? { session: sessionKey, since: cur.since, texts: cur.texts } : undefined;
  }
}

/**
 * A carried text in pieces of at most MAX_TRACKED_PROMPT_CHARS, cut at line ends where there are any: a
 * packed wake entry (many messages joined by "\n", up to 32 KiB) stays matchable message by message.
 * A single longer line is cut hard.
 */
export function pieces(text: string): string[] {
  const out: string[] = [];
  let rest = text.trim();
  while (rest.length > MAX_TRACKED_PROMPT_CHARS) {
    const nl = rest.lastIndexOf("\n", MAX_TRACKED_PROMPT_CHARS);
    const cut = nl > 0 ? nl : MAX_TRACKED_PROMPT_CHARS;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest) out.push(rest);
  return out;
}
