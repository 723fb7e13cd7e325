import { subjectMatches } from "../shared/subjects.ts";

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
