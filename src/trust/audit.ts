import { statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../config/parse.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { redactUrl } from "../connection/redact.ts";
import { serverList } from "../connection/options.ts";
import { IDENTITY_FILE } from "./identity.ts";

/** The host's finding shape (openclaw `SecurityAuditFinding`). */
export interface AuditFinding {
  checkId: string;
  severity: "info" | "warn" | "critical";
  title: string;
  detail: string;
  remediation?: string;
}

/** Shorter bearer tokens are flagged (the schema's floor is 16; 32 random characters is the advice). */
export const MIN_STRONG_TOKEN_LENGTH = 32;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Plain nats:// or ws:// to a host other than loopback: credentials, signatures' payloads and replies cross the network in clear. */
function plaintextRemote(url: string | undefined): string[] {
  if (!url) return [];
  return serverList(url).filter((u) => /^(nats|ws):\/\//i.test(u) && !LOOPBACK.test(hostOf(u) ?? ""));
}

/** Risky settings in one validated plugin config. Pure: no I/O besides the optional seed-file mode check. */
export function auditConfig(cfg: NatsPluginConfig, opts: { stateDir?: string } = {}): AuditFinding[] {
  const out: AuditFinding[] = [];
  const r = cfg.relay;
  if (r.trustUnsignedCallers) {
    out.push({
      checkId: "plugins.nats.relay.unsigned_callers",
      severity: r.allowedTargets ? "warn" : "critical",
      title: "NATS relay open to unsigned callers",
      detail:
        "relay.trustUnsignedCallers is true: every client that can publish to a wake subject can claim any `from` and get a turn that answers it (expectReply) or speaks to a user's channel (deliver)" +
        (r.allowedTargets ? "; allowedTargets then only checks that claimed name." : ", in every session (no relay.allowedTargets)."),
      remediation: "Remove relay.trustUnsignedCallers and give each sender a key in relay.callers (signed Agent-Sender header); see docs/security.md.",
    });
  }
  if (!r.allowedTargets) {
    out.push({
      checkId: "plugins.nats.relay.no_allowed_targets",
      severity: "warn",
      title: "NATS relay has no allowedTargets",
      detail: "Without relay.allowedTargets every authenticated caller (each agent, each relay.callers key, each relay token) may start turns in every session, including deliveries to users' channels.",
      remediation: 'Set relay.allowedTargets, e.g. {"scheduler": ["agent:support:telegram:*"], "a": ["agent:b:*"]}.',
    });
  }
  const tokens: Array<[string, string]> = [...(r.authToken ? [["relay.authToken", r.authToken] as [string, string]] : []), ...Object.entries(r.tokens ?? {}).map(([id, t]) => [`relay.tokens.${id}`, t] as [string, string])];
  for (const [field, token] of tokens) {
    if (token.length >= MIN_STRONG_TOKEN_LENGTH) continue;
    out.push({
      checkId: "plugins.nats.relay.short_token",
      severity: "warn",
      title: "Short relay bearer token",
      detail: `${field} is ${token.length} characters; POST ${r.path} accepts it as a credential.`,
      remediation: `Use ${MIN_STRONG_TOKEN_LENGTH}+ random characters, e.g. openssl rand -hex 24.`,
    });
  }
  const urls: Array<[string, string | undefined]> = [["url", cfg.url], ...Object.entries(cfg.events.agents).map(([id, a]) => [`events.agents.${id}.url`, a.url] as [string, string | undefined])];
  for (const [field, url] of urls) {
    const plain = plaintextRemote(url);
    if (plain.length === 0) continue;
    out.push({
      checkId: "plugins.nats.connection.plaintext_remote",
      severity: "warn",
      title: "NATS connection without TLS to a remote host",
      detail: `${field} uses ${plain.map(redactUrl).join(", ")}: credentials, wake messages and agent answers cross the network unencrypted, and a signature is only as good as the server it reaches (agent protocol §13.12).`,
      remediation: "Use tls:// (or wss://) with the server's CA in tls.caFile, or keep the server on loopback.",
    });
  }
  const seedFile = cfg.trust.seedFile ?? (opts.stateDir ? join(opts.stateDir, "plugins", "nats", IDENTITY_FILE) : undefined);
  if (seedFile) {
    try {
      const mode = statSync(seedFile).mode & 0o777;
      if (mode & 0o077) {
        out.push({
          checkId: "plugins.nats.trust.seed_file_readable",
          severity: "warn",
          title: "NATS signing seed readable by others",
          detail: `${seedFile} (mode ${mode.toString(8)}) holds the key this gateway's agents sign with; whoever reads it can speak as each of them.`,
          remediation: `chmod 600 ${seedFile}`,
        });
      }
    } catch {
      // not created yet: the plugin creates it with mode 0600
    }
  }
  return out;
}

function pluginEntry(config: unknown): { enabled?: unknown; config?: unknown } | undefined {
  const plugins = (config as { plugins?: { entries?: Record<string, unknown> } } | undefined)?.plugins;
  const entry = plugins?.entries?.nats;
  return typeof entry === "object" && entry !== null ? (entry as { enabled?: unknown; config?: unknown }) : undefined;
}

/**
 * `openclaw security audit` collector: reads plugins.entries.nats.config from the audited config and
 * reports the risky settings. Never prints a credential (findings name fields and lengths, URLs redacted).
 */
export function natsSecurityAudit(ctx: { config: unknown; stateDir?: string }): AuditFinding[] {
  const entry = pluginEntry(ctx.config);
  if (!entry || entry.enabled === false) return [];
  let cfg: NatsPluginConfig;
  try {
    cfg = parseConfig(entry.config ?? {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [{ checkId: "plugins.nats.config.invalid", severity: "warn", title: "NATS plugin config is invalid", detail: err.problems.map((p) => `${p.field}: ${p.message}`).join("; "), remediation: "Fix the named fields; the plugin stays idle until then." }];
  }
  if (!cfg.enabled) return [];
  return auditConfig(cfg, { stateDir: ctx.stateDir });
}
