/** `relay.allowedTargets`: caller id → session-key patterns that caller may notify or ask. */
export type AllowedTargets = Record<string, string[]>;

export type TargetDecision = { ok: true } | { ok: false; reason: string };

/** Key in allowedTargets whose patterns apply to every caller that has no entry of its own. */
export const ANY_CALLER = "*";

/**
 * `*` matches every session; a trailing `:*` matches every key that starts with the part before
 * the `*` (so `agent:broker:*` matches `agent:broker:main` and `agent:broker:telegram:direct:1`, but not
 * `agent:brokerage:main`); anything else must match exactly.
 */
export function patternMatches(pattern: string, sessionKey: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(":*")) return sessionKey.startsWith(pattern.slice(0, -1));
  return pattern === sessionKey;
}

/**
 * Without allowedTargets every caller may reach every session. With it, a caller is limited to its own
 * patterns, else to the `*` entry's; a caller with neither is refused (fail closed).
 */
export function checkTarget(allowed: AllowedTargets | undefined, caller: string, sessionKey: string): TargetDecision {
  if (!allowed) return { ok: true };
  const patterns = Object.hasOwn(allowed, caller) ? allowed[caller] : allowed[ANY_CALLER];
  if (!patterns) return { ok: false, reason: `caller "${caller}" has no entry in relay.allowedTargets` };
  if (patterns.some((p) => patternMatches(p, sessionKey))) return { ok: true };
  return { ok: false, reason: `caller "${caller}" may not reach ${sessionKey} (relay.allowedTargets)` };
}
