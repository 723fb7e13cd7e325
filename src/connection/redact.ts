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

/** Config keys whose string values are secrets (this plugin's and the plugins `import-config` reads). */
const SECRET_KEYS = new Set(["token", "pass", "password", "nkeySeed", "authToken", "gatewayToken"]);

/** A copy of a config object with secret values replaced by *** and passwords in URLs hidden: safe to print. */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) && typeof v === "string" ? "***" : redactConfig(v)]));
  }
  return typeof value === "string" ? value.replace(/([a-z]+:\/\/)[^@/\s,]*@/gi, "$1***@") : value;
}
