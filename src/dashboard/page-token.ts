import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** How long one token is good for; every API answer carries a renewed one. */
export const TOKEN_TTL_MS = 2 * 60_000;
/** How long one page load may keep renewing; then the page reloads, which passes gateway auth again. */
export const SESSION_MAX_MS = 60 * 60_000;

export interface PageSession {
  /** When the page was served (after gateway auth). */
  startedAt: number;
}

/**
 * Capabilities for the dashboard's data API. The page itself is served behind gateway auth; the
 * data API cannot be: inside the Control UI the page runs in an opaque-origin sandbox whose
 * fetches carry no cookie (browsers treat them as third-party). So the page gets a token in its HTML
 * — readable only by a page the gateway served after checking its credentials — and the API accepts
 * only that token: short-lived, renewed by each answer, and tied to the page load, so that
 * gateway auth is checked again at least every SESSION_MAX_MS. A gateway restart (new key)
 * invalidates every token.
 */
export class PageTokens {
  private readonly key = randomBytes(32);

  /** A token for a page load at `startedAt` (default now), valid for TOKEN_TTL_MS from `now`. */
  issue(startedAt = Date.now(), now = Date.now()): string {
    const body = `${startedAt}.${now + TOKEN_TTL_MS}`;
    return `${body}.${this.sign(body)}`;
  }

  /** The session a valid token belongs to, or why it is not valid. */
  verify(token: string | null | undefined, now = Date.now()): { ok: true; session: PageSession } | { ok: false; error: string } {
    const m = token ? /^(\d{1,16})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token) : null;
    if (!m) return { ok: false, error: "missing or malformed page token" };
    const [, started, exp, sig] = m as unknown as [string, string, string, string];
    const want = Buffer.from(this.sign(`${started}.${exp}`));
    if (!timingSafeEqual(Buffer.from(sig), want)) return { ok: false, error: "page token not issued by this gateway (it restarted?)" };
    if (Number(exp) < now) return { ok: false, error: "page token expired" };
    if (now - Number(started) > SESSION_MAX_MS) return { ok: false, error: "page session too old" };
    return { ok: true, session: { startedAt: Number(started) } };
  }

  private sign(body: string): string {
    return createHmac("sha256", this.key).update(`nats-dashboard\n${body}`).digest("base64url");
  }
}
