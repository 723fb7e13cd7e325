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
}

export function serverList(url: string): string[] {
  return url.split(",").map((s) => s.trim()).filter(Boolean);
}

export function isWebSocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(serverList(url)[0] ?? "");
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
