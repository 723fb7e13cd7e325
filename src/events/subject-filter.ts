/** NATS subject matching (`*` = one token, `>` = one or more trailing tokens) and the events allow/block list. */

function tokens(subject: string): string[] {
  return subject.split(".");
}

/** True when `subject` (no wildcards) matches `pattern` (may contain `*` and a trailing `>`). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = tokens(pattern);
  const s = tokens(subject);
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True when some subject could match both patterns (JetStream refuses two streams whose subjects overlap). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = tokens(a);
  const y = tokens(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const s = x[i];
    const t = y[i];
    if (s === ">" || t === ">") return s !== undefined && t !== undefined;
    if (s === undefined || t === undefined) return false;
    if (s !== "*" && t !== "*" && s !== t) return false;
  }
  return true;
}

const CACHE_LIMIT = 10_000;

/**
 * The `events.allow` / `events.block` lists. An event passes when `allow` is empty or one of
 * its patterns matches, and no `block` pattern matches (block wins). Decisions are cached per subject,
 * since an installation only ever produces a few hundred distinct subjects.
 */
export class SubjectFilter {
  private readonly allow: readonly string[];
  private readonly block: readonly string[];
  private readonly cache = new Map<string, boolean>();

  constructor(allow: readonly string[] = [], block: readonly string[] = []) {
    this.allow = [...allow];
    this.block = [...block];
  }

  get isOpen(): boolean {
    return this.allow.length === 0 && this.block.length === 0;
  }

  passes(subject: string): boolean {
    if (this.isOpen) return true;
    const known = this.cache.get(subject);
    if (known !== undefined) return known;
    const verdict = this.decide(subject);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(subject, verdict);
    return verdict;
  }

  private decide(subject: string): boolean {
    if (this.allow.length > 0 && !this.allow.some((p) => subjectMatches(p, subject))) return false;
    return !this.block.some((p) => subjectMatches(p, subject));
  }
}
