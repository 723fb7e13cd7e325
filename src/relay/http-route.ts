import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../shared/logger.ts";
import type { RateLimitedLog } from "../shared/rate-limited-log.ts";
import { httpTrace, traceResponseHeaders } from "../trace/http.ts";
import { processTraces } from "../trace/sessions.ts";
import { isRefusal, type Caller, type NotifyRequest, type NotifyResult, type RelayFailureKind } from "./relay.ts";
import { checkFields, HttpNotifyBody } from "./request.ts";

/** One bearer token and the caller it authenticates (relay.authToken → "http"; relay.tokens.<caller>). */
export interface TokenOwner {
  caller: string;
  token: string;
}

export interface HttpRouteOptions {
  tokens: TokenOwner[];
  maxBodyBytes: number;
  /** Failed authentication is logged through this, one line with a count per interval. */
  authFailures: RateLimitedLog;
}

export type Notify = (caller: Caller, req: NotifyRequest) => Promise<NotifyResult>;

const STATUS: Record<RelayFailureKind, number> = { invalid: 400, unauthorized: 401, forbidden: 403, "not-found": 404, busy: 429, failed: 502, timeout: 504 };

/** Constant-time: both sides are hashed to 32 bytes first, so neither length nor content leaks through timing. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The owner of the presented token. Every token is compared (no early exit), so timing does not tell which one matched or how many exist. */
export function tokenOwner(presented: string, tokens: TokenOwner[]): string | undefined {
  let owner: string | undefined;
  for (const t of tokens) if (tokenMatches(presented, t.token) && owner === undefined) owner = t.caller;
  return owner;
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

function isJson(req: IncomingMessage): boolean {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  return type === "application/json";
}

export type Body = { ok: true; text: string } | { ok: false; tooLarge: boolean };

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Body> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: Body): void => {
      if (done) return;
      done = true;
      resolve(body);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) return finish({ ok: false, tooLarge: true });
      parts.push(chunk);
    });
    req.on("end", () => finish({ ok: true, text: Buffer.concat(parts).toString("utf8") }));
    req.on("error", () => finish({ ok: false, tooLarge: false }));
    req.on("aborted", () => finish({ ok: false, tooLarge: false }));
  });
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * POST <relay.path> with `Authorization: Bearer <token>` and a JSON body `{sessionKey, message, channel?,
 * to?, from?}`. The caller is the token's owner; a `from` naming anyone else is refused. Every refusal
 * is a JSON `{ok:false, error}` with its status and one log line (authentication failures: one line
 * with a count per interval), before anything reaches an agent.
 */
export function createNotifyHandler(opts: HttpRouteOptions, notify: Notify, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const who = req.socket.remoteAddress ?? "unknown";
    const refuse = (status: number, error: string, headers: Record<string, string> = {}): boolean => {
      log.warn(`nats: relay http ${status} from ${who}: ${error}`);
      send(res, status, { ok: false, error }, headers);
      return true;
    };
    if (req.method !== "POST") return refuse(405, `method ${req.method ?? "?"} not allowed; use POST`, { allow: "POST" });
    const unauthorized = (error: string): boolean => {
      opts.authFailures.report(`nats: relay http 401 from ${who}: ${error}`);
      send(res, 401, { ok: false, error }, { "www-authenticate": "Bearer" });
      return true;
    };
    const presented = bearer(req);
    if (presented === undefined) return unauthorized("missing bearer token (Authorization: Bearer <token from relay.authToken or relay.tokens>)");
    const owner = tokenOwner(presented, opts.tokens);
    if (owner === undefined) return unauthorized("invalid bearer token");
    if (!isJson(req)) return refuse(415, `content type must be application/json, not ${req.headers["content-type"] ?? "none"}`);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > opts.maxBodyBytes) {
      req.resume();
      return refuse(413, `body is ${declared} bytes, over the ${opts.maxBodyBytes}-byte limit`, { connection: "close" });
    }
    const body = await readBody(req, opts.maxBodyBytes);
    if (!body.ok) {
      if (!body.tooLarge) return true; // client went away
      req.resume();
      return refuse(413, `body is over the ${opts.maxBodyBytes}-byte limit`, { connection: "close" });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(body.text);
    } catch (err) {
      return refuse(400, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const checked = checkFields(HttpNotifyBody, raw);
    if (!checked.ok) return refuse(400, checked.error);
    const { from, sessionKey, message, channel, to } = checked.value;
    if (from !== undefined && from !== owner) return refuse(400, `from "${from}" is not this token's caller "${owner}"; omit from, or give this caller its own token in relay.tokens`);
    // The run the relay starts records its events under the caller's trace (or a new one; src/trace).
    const trace = httpTrace(req.headers, "POST /notify", log);
    processTraces().set(sessionKey, trace);
    let result: NotifyResult;
    try {
      result = await notify({ id: owner, via: "http", auth: "token", anonymous: from === undefined }, { sessionKey, message, channel, to });
    } catch (err) {
      return refuse(500, `relay error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!result.ok) {
      if (isRefusal(result.kind)) return refuse(STATUS[result.kind], result.error);
      send(res, STATUS[result.kind], { ok: false, error: result.error }); // a failed turn: the relay logged it
      return true;
    }
    send(res, 200, result, traceResponseHeaders(trace));
    return true;
  };
}
