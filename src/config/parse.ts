import { Value } from "typebox/value";
import { CALLER_ID_PATTERN, ConfigSchema, type NatsPluginConfig } from "./schema.ts";
import { isSenderAccount, isUserPublicKey } from "../shared/nkey-shape.ts";

/** One problem with the plugin config, naming the field (`reconnect.delayMs`) and what is wrong. */
export interface ConfigProblem {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(`invalid config: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

function fieldOf(instancePath: string, params: Record<string, unknown>): string {
  const base = instancePath.replace(/^\//, "").replaceAll("/", ".");
  const extra = params.additionalProperties ?? params.requiredProperties;
  const names = Array.isArray(extra) ? extra.join(",") : "";
  if (names) return base ? `${base}.${names}` : names;
  return base || "(root)";
}

/**
 * Validate `plugins.entries.nats.config` once and fill in documented defaults.
 * Throws ConfigError listing every problem; never returns a half-valid config.
 */
export function parseConfig(raw: unknown): NatsPluginConfig {
  const input: unknown = raw ?? {};
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError([{ field: "(root)", message: "must be an object" }]);
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(input));
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const err of Value.Errors(ConfigSchema, withDefaults)) {
    if (err.keyword === "boolean") continue; // restated by the additionalProperties entry
    const field = fieldOf(err.instancePath, err.params as Record<string, unknown>);
    const message = err.keyword === "additionalProperties" ? "unknown field" : err.message;
    const key = `${field}:${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push({ field, message });
    }
  }
  if (problems.length === 0 && !Value.Check(ConfigSchema, withDefaults)) {
    // Value.Errors reports only the first few errors: with many unknown keys in one section they can all
    // be the per-key restatements skipped above. Name those keys rather than pass a config that is not
    // valid on to the cross-field checks (which then threw a TypeError).
    for (const err of Value.Errors(ConfigSchema, withDefaults)) {
      const field = fieldOf(err.instancePath, {});
      if (seen.has(field)) continue;
      seen.add(field);
      problems.push({ field, message: err.keyword === "boolean" ? "unknown field" : err.message });
    }
  }
  if (problems.length === 0) problems.push(...crossFieldProblems(withDefaults as NatsPluginConfig));
  if (problems.length > 0) throw new ConfigError(problems);
  return inheritReplication(withDefaults as NatsPluginConfig);
}

/** The top-level `replicas` / `placement` are the default of each stream section that sets none of its own. */
function inheritReplication(cfg: NatsPluginConfig): NatsPluginConfig {
  for (const section of [cfg.inbox, cfg.deadLetterStream, cfg.events]) {
    if (section.replicas === undefined && cfg.replicas !== undefined) section.replicas = cfg.replicas;
    if (section.placement === undefined && cfg.placement !== undefined) section.placement = structuredClone(cfg.placement);
  }
  return cfg;
}

function crossFieldProblems(cfg: NatsPluginConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const c = cfg.credentials;
  if (c) {
    const kinds = [c.token && "token", (c.user || c.pass) && "user/pass", c.nkeySeed && "nkeySeed", c.credsFile && "credsFile"].filter(Boolean);
    if (kinds.length > 1) out.push({ field: "credentials", message: `choose one of token, user/pass, nkeySeed, credsFile (got ${kinds.join(" + ")})` });
    if (c.pass !== undefined && !c.user) out.push({ field: "credentials.user", message: "required when credentials.pass is set" });
  }
  if (cfg.reconnect.maxDelayMs < cfg.reconnect.delayMs) {
    out.push({ field: "reconnect.maxDelayMs", message: `must be >= reconnect.delayMs (${cfg.reconnect.delayMs})` });
  }
  if (cfg.tls && Boolean(cfg.tls.certFile) !== Boolean(cfg.tls.keyFile)) {
    out.push({ field: "tls", message: "certFile and keyFile go together" });
  }
  if (cfg.subjects.length === 0) out.push({ field: "subjects", message: "must list at least one subject" });
  cfg.alertmanager.routes.forEach((r, i) => {
    if (Boolean(r.agent) === Boolean(r.sessionKey)) out.push({ field: `alertmanager.routes.${i}`, message: "name exactly one of agent, sessionKey" });
    if (!r.receiver && !r.labels) out.push({ field: `alertmanager.routes.${i}`, message: "needs receiver or labels to match on" });
  });
  if (cfg.alertmanager.authToken && cfg.alertmanager.path === cfg.relay.path) {
    out.push({ field: "alertmanager.path", message: `must differ from relay.path (${cfg.relay.path})` });
  }
  out.push(...trustProblems(cfg));
  return out;
}

/** Relay callers, tokens and limits that the schema alone cannot check. Messages never repeat a token. */
function trustProblems(cfg: NatsPluginConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const r = cfg.relay;
  if (r.timeoutMs > r.maxTimeoutMs) out.push({ field: "relay.timeoutMs", message: `must be <= relay.maxTimeoutMs (${r.maxTimeoutMs})` });
  const callerId = new RegExp(CALLER_ID_PATTERN);
  for (const [section, ids] of [["relay.callers", Object.keys(r.callers)], ["relay.tokens", Object.keys(r.tokens ?? {})]] as const) {
    for (const id of ids) if (!callerId.test(id)) out.push({ field: `${section}`, message: `caller id ${JSON.stringify(id.slice(0, 80))} must be letters, digits, _ . @ - (1–64, starting with a letter or digit)` });
  }
  const keys = new Map<string, string>();
  for (const [id, c] of Object.entries(r.callers)) {
    if (!isUserPublicKey(c.publicKey)) out.push({ field: `relay.callers.${id}.publicKey`, message: "is not a valid user NKEY (checksum)" });
    const other = keys.get(c.publicKey);
    if (other !== undefined) out.push({ field: `relay.callers.${id}.publicKey`, message: `same key as relay.callers.${other}` });
    keys.set(c.publicKey, id);
  }
  const tokens = new Map<string, string>();
  if (r.authToken !== undefined) tokens.set(r.authToken, "relay.authToken");
  for (const [id, token] of Object.entries(r.tokens ?? {})) {
    const other = tokens.get(token);
    if (other !== undefined) out.push({ field: `relay.tokens.${id}`, message: `same token as ${other}; every caller needs its own` });
    tokens.set(token, `relay.tokens.${id}`);
  }
  if (!isSenderAccount(cfg.trust.account)) out.push({ field: "trust.account", message: "is not a valid account NKEY (checksum)" });
  return out;
}
