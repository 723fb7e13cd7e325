/** Hide user:pass / token in a URL (`nats://u:p@h` → `nats://***@h`) so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/\s]*@/i, "$1***@");
}

/** Replace every known secret that might appear in free text (error messages) with ***. */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text.replace(/([a-z]+:\/\/)[^@/\s]*@/gi, "$1***@");
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}

/** Config keys whose values are secrets wherever they appear (credentials.token, relay.authToken, …). */
const SECRET_KEYS = /^(token|pass|password|nkeySeed|seed|authToken|secret|apiKey|privateKey)$/i;

/**
 * A copy of a config object safe to show: secret-named values become "***", URLs lose their
 * user:pass, and file paths of secrets (credsFile, keyFile) are kept, because they are not secrets.
 */
export function redactConfig<T>(value: T): T {
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === "string") return SECRET_KEYS.test(key) ? "***" : redactSecrets(v, []);
    if (Array.isArray(v)) return v.map((item) => walk(item, key));
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner, k)]));
    return v;
  };
  return walk(value, "") as T;
}
