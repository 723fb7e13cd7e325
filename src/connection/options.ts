import { readFileSync } from "node:fs";
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";
import type { Credentials, TlsOptions } from "../config/schema.ts";

export interface ConnectionSettings {
  /** One URL or several, comma-separated. */
  url: string;
  credentials?: Credentials;
  tls?: TlsOptions;
  reconnect: { maxAttempts: number; delayMs: number; maxDelayMs: number };
  /** Client name shown by the server (`nats server report connections`). */
  name: string;
  /** Reply subjects start with this (default `_INBOX`); a per-user prefix lets permissions keep replies private. */
  inboxPrefix?: string;
  /** JetStream domain of the plugin's streams (`$JS.<domain>.API`); unset: the connected server's JetStream. */
  jetstreamDomain?: string;
}

/**
 * The reply-subject prefix of an agent's own connection (`events.agents.<id>` with credentials):
 * `<inboxPrefix>.agent.<id>`, so a permission on it keeps the JetStream API's answers to that agent
 * private (a shared `_INBOX.>` would let one agent read another's replies). Under the gateway's prefix,
 * so permissions written for `<inboxPrefix>.>` still cover it.
 */
export function agentInboxPrefix(base: string | undefined, agentId: string): string {
  return `${base ?? "_INBOX"}.agent.${agentId}`;
}

export function serverList(url: string): string[] {
  return url.split(",").map((s) => s.trim()).filter(Boolean);
}

export function isWebSocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(serverList(url)[0] ?? "");
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * One server URL without its user-info, and the credentials that user-info names (percent-decoded):
 * `nats://user:pass@host` → user and pass, `nats://token@host` → token. The one parse of user-info;
 * redaction (redact.ts) only hides it.
 */
export function takeUserInfo(server: string): { url: string; credentials?: { token: string } | { user: string; pass: string } } {
  const m = /^([a-z]+:\/\/)([^@/\s]*)@(.*)$/i.exec(server);
  if (!m) return { url: server };
  const url = `${m[1]}${m[3]}`;
  const info = m[2] ?? "";
  if (!info) return { url };
  const colon = info.indexOf(":");
  return { url, credentials: colon === -1 ? { token: decode(info) } : { user: decode(info.slice(0, colon)), pass: decode(info.slice(colon + 1)) } };
}

/**
 * The servers to dial and the credentials to present. nats.js ignores user-info in server URLs, so a
 * configured `nats://user:pass@host` (or `nats://token@host`) would connect without them: the user-info
 * is taken out of every URL (percent-decoded) and used as credentials unless `credentials` is set, which
 * wins. The first URL that carries user-info is the one used.
 */
export function dialTarget(url: string, credentials?: Credentials): { servers: string[]; credentials?: Credentials } {
  let fromUrl: Credentials | undefined;
  const servers = serverList(url).map((server) => {
    const taken = takeUserInfo(server);
    fromUrl ??= taken.credentials;
    return taken.url;
  });
  const chosen = credentials ?? fromUrl;
  return { servers, ...(chosen ? { credentials: chosen } : {}) };
}

/** Credentials and TLS as nats.js options. Secrets never leave this object. */
export function authOptions(settings: Pick<ConnectionSettings, "credentials" | "tls">): Partial<ConnectionOptions> {
  const c = settings.credentials;
  const out: Partial<ConnectionOptions> = {};
  if (c?.token) out.token = c.token;
  if (c?.user) {
    out.user = c.user;
    out.pass = c.pass ?? "";
  }
  if (c?.nkeySeed) out.authenticator = nkeyAuthenticator(new TextEncoder().encode(c.nkeySeed));
  if (c?.credsFile) out.authenticator = credsAuthenticator(readFileSync(c.credsFile));
  const t = settings.tls;
  if (t && (t.caFile || t.certFile || t.keyFile)) {
    out.tls = { ...(t.caFile ? { caFile: t.caFile } : {}), ...(t.certFile ? { certFile: t.certFile } : {}), ...(t.keyFile ? { keyFile: t.keyFile } : {}) };
  }
  return out;
}
