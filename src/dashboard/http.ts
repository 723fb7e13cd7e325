import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { DashboardCollector } from "./collector.ts";
import type { EventFeed, FeedFilter } from "./feed.ts";
import type { PageTokens } from "./page-token.ts";

const BASE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  "cache-control": "no-store",
};

const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

export interface DashboardPage {
  html: string;
  /** The page's own CSP: only its inline script and style (by hash), fetches to `apiBase` only, framing by the gateway's own pages. */
  csp: (apiOrigin: string) => string;
}

/**
 * The page is one self-contained HTML document: inside the Control UI's sandboxed frame the browser
 * sends the tab cookie with the frame's navigation but not with its subresources, so separate .js
 * and .css files would be refused. Script and style are inlined and allowed by hash, not by
 * 'unsafe-inline'.
 */
export function loadPage(): DashboardPage {
  const read = (name: string): string => readFileSync(new URL(`./ui/${name}`, import.meta.url), "utf8");
  const js = read("app.js");
  const css = read("app.css");
  const html = read("index.html").replace("%CSS%", () => css).replace("%JS%", () => js);
  return {
    html,
    csp: (apiOrigin) =>
      `default-src 'none'; script-src ${sha256(js)}; style-src ${sha256(css)}; img-src 'none'; connect-src 'self' ${apiOrigin}; base-uri 'none'; form-action 'none'; frame-ancestors 'self'`,
  };
}

function escapeAttr(s: string): string {
  return s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The gateway's own origin as the browser sees it (for the API's CORS answer and the page's connect-src). */
function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.[\]:-]+$/.test(host)) return undefined;
  const proto = req.socket && "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  return `${proto}://${host}`;
}

export interface DashboardHttpOptions {
  base: string;
  apiBase: string;
  refreshMs: number;
  feedLifetimeMs: number;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string>): true {
  res.writeHead(status, { ...BASE_HEADERS, "content-type": type, ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
  return true;
}

/**
 * The page, under `dashboard.path` behind gateway auth (the host refuses the request before this
 * runs when there is no credential). GET only; the page carries its first API token.
 */
export function createPageHandler(opts: DashboardHttpOptions, page: DashboardPage, tokens: PageTokens): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const rest = url.pathname.slice(opts.base.length);
    const json = { "content-type": "application/json; charset=utf-8" };
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, json["content-type"], JSON.stringify({ ok: false, error: "the dashboard is read-only: GET only" }), { allow: "GET, HEAD" });
    if (rest === "") return send(res, 308, "text/plain; charset=utf-8", "", { location: `${opts.base}/` });
    if (rest !== "/" && rest !== "/index.html") return send(res, 404, json["content-type"], JSON.stringify({ ok: false, error: `no such dashboard path: ${url.pathname}` }), {});
    const boot = JSON.stringify({ token: tokens.issue(), api: opts.apiBase, refreshMs: opts.refreshMs });
    const origin = ownOrigin(req) ?? "";
    return send(res, 200, "text/html; charset=utf-8", page.html.replace("%BOOT%", () => escapeAttr(boot)), {
      "content-security-policy": page.csp(origin),
      "x-frame-options": "SAMEORIGIN",
      "cross-origin-opener-policy": "same-origin",
    });
  };
}

/**
 * The data API under `<dashboard.path>-api` (a sibling path, so that it is not under the page's
 * gateway-auth prefix): `state` (JSON snapshot) and `feed` (server-sent events), each only with a
 * valid page token. Read-only.
 */
export function createApiHandler(opts: DashboardHttpOptions, deps: { collector: DashboardCollector; feed: EventFeed; tokens: PageTokens; log: Logger }): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const rest = url.pathname.slice(opts.apiBase.length);
    // Inside the Control UI the page is an opaque-origin sandbox: its requests say Origin "null".
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin === "null" || (origin !== undefined && origin === ownOrigin(req)) ? { "access-control-allow-origin": origin, vary: "Origin" } : { vary: "Origin" };
    const json = (status: number, body: object): true => send(res, status, "application/json; charset=utf-8", JSON.stringify(body), cors);
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { ok: false, error: "the dashboard API is read-only: GET only" });
    if (rest !== "/state" && rest !== "/feed") return json(404, { ok: false, error: `no such dashboard API path: ${url.pathname}` });
    const check = deps.tokens.verify(url.searchParams.get("t"));
    if (!check.ok) {
      deps.log.debug?.(`nats: dashboard API refused from ${req.socket.remoteAddress ?? "?"}: ${check.error}`);
      return json(401, { ok: false, error: `${check.error}: reload the dashboard (it needs gateway auth)`, reload: true });
    }
    if (rest === "/feed") {
      if (req.method === "HEAD") return send(res, 200, "text/event-stream; charset=utf-8", "", cors);
      const filter: FeedFilter = {};
      const agent = url.searchParams.get("agent")?.trim();
      const type = url.searchParams.get("type")?.trim();
      if (agent) filter.agent = agent.slice(0, 64);
      if (type) filter.type = type.slice(0, 64);
      deps.feed.attach(res, filter, opts.feedLifetimeMs, { ...BASE_HEADERS, ...cors });
      return true;
    }
    try {
      const snapshot = await deps.collector.snapshot();
      return json(200, { ok: true, token: deps.tokens.issue(check.session.startedAt), feed: { listeners: deps.feed.listeners }, ...snapshot });
    } catch (err) {
      deps.log.warn(`nats: dashboard snapshot failed: ${errorMessage(err)}`);
      return json(500, { ok: false, error: `snapshot failed: ${errorMessage(err)}` });
    }
  };
}
