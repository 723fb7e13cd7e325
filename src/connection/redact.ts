/**
 * Redaction: the one home for hiding credentials in text (URLs' user-info, known secrets), in log lines
 * (redactingLogger) and in config printed by the CLI (redactConfig). Turning user-info into credentials
 * is connection/options.ts takeUserInfo's.
 */

/** `scheme://user-info@`: the user-info is what gets hidden (`[^@/\s,]`: it stops at a list's comma). */
const USER_INFO = /([a-z]+:\/\/)([^@/\s,]*)@/gi;

/** Hide user:pass / token in a URL, or in each of a comma-separated list (`nats://u:p@h` → `nats://***@h`), so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(USER_INFO, "$1***@");
}

/** Replace every known secret that might appear in free text (error messages) with ***, and every URL's user-info. */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = redactUrl(text);
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}

/** The password (or token) in each URL's user-info, raw and percent-decoded. */
export function urlSecrets(urls: string | undefined): string[] {
  const out: string[] = [];
  for (const m of (urls ?? "").matchAll(USER_INFO)) {
    const info = m[2] ?? "";
    const colon = info.indexOf(":");
    const secret = colon === -1 ? info : info.slice(colon + 1);
    if (!secret) continue;
    out.push(secret);
    try {
      const decoded = decodeURIComponent(secret);
      if (decoded !== secret) out.push(decoded);
    } catch {
      // not percent-encoded
    }
  }
  return out;
}

interface CredentialsLike {
  token?: string;
  pass?: string;
  nkeySeed?: string;
}

/** The secrets of one credentials block (token, password, nkey seed); creds and seed files are paths. */
export function credentialSecrets(c: CredentialsLike | undefined): string[] {
  return [c?.token, c?.pass, c?.nkeySeed].filter((v): v is string => Boolean(v));
}

/** The config slices that hold credentials (structural, so this module stays free of the config types). */
export interface SecretBearingConfig {
  url: string;
  credentials?: CredentialsLike;
  events?: { agents?: Record<string, { url?: string; credentials?: CredentialsLike }> };
  relay?: { authToken?: string; tokens?: Record<string, string> };
  alertmanager?: { authToken?: string };
}

/**
 * Every credential the plugin config holds: URL passwords and tokens, credentials (token, pass, nkey
 * seed) for the default and per-agent connections, relay bearer tokens. Creds and seed files are paths;
 * their content is read only by the connection and identity code and never put into text.
 */
export function configSecrets(cfg: SecretBearingConfig): string[] {
  const out = [...urlSecrets(cfg.url)];
  out.push(...credentialSecrets(cfg.credentials));
  for (const agent of Object.values(cfg.events?.agents ?? {})) {
    out.push(...urlSecrets(agent.url), ...credentialSecrets(agent.credentials));
  }
  if (cfg.relay?.authToken) out.push(cfg.relay.authToken);
  out.push(...Object.values(cfg.relay?.tokens ?? {}));
  if (cfg.alertmanager?.authToken) out.push(cfg.alertmanager.authToken);
  // Longest first, so a secret that contains another is replaced whole.
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

/**
 * A logger that redacts URLs' user-info and every given secret from each line: one choke point for
 * everything the plugin logs, in case a library error message quotes a URL or a credential.
 */
export function redactingLogger<L extends { debug?: (m: string) => void; info: (m: string) => void; warn: (m: string) => void; error: (m: string) => void }>(log: L, secrets: string[]): L {
  const clean = (m: string): string => redactSecrets(m, secrets);
  const debug = log.debug;
  return {
    ...log,
    ...(debug ? { debug: (m: string) => debug.call(log, clean(m)) } : {}),
    info: (m: string) => log.info(clean(m)),
    warn: (m: string) => log.warn(clean(m)),
    error: (m: string) => log.error(clean(m)),
  };
}

/** Config keys whose string values are secrets (this plugin's and the plugins `import-config` reads). */
const SECRET_KEYS = new Set(["token", "pass", "password", "nkeySeed", "authToken", "gatewayToken"]);
/** Config keys whose object holds one secret per entry (`relay.tokens: {caller: token}`). */
const SECRET_MAPS = new Set(["tokens"]);

/** A copy of a config object with secret values replaced by *** and passwords in URLs hidden: safe to print. */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, secretValue(k, v) ? "***" : SECRET_MAPS.has(k) ? redactMap(v) : redactConfig(v)]));
  }
  return typeof value === "string" ? redactUrl(value) : value;
}

function secretValue(key: string, value: unknown): boolean {
  return SECRET_KEYS.has(key) && typeof value === "string";
}

function redactMap(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return redactConfig(value);
  return Object.fromEntries(Object.keys(value).map((k) => [k, "***"]));
}
