import { Value } from "typebox/value";
import { ConfigSchema, type NatsPluginConfig } from "./schema.ts";

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
  if (problems.length === 0) problems.push(...crossFieldProblems(withDefaults as NatsPluginConfig));
  if (problems.length > 0) throw new ConfigError(problems);
  return withDefaults as NatsPluginConfig;
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
  if (cfg.alertmanager.authToken && cfg.relay.authToken && cfg.alertmanager.path === cfg.relay.path) {
    out.push({ field: "alertmanager.path", message: `must differ from relay.path (${cfg.relay.path})` });
  }
  return out;
}
