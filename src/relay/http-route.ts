import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../shared/logger.ts";
import { isRefusal, type Caller, type NotifyRequest, type NotifyResult, type RelayFailureKind } from "./relay.ts";
import { checkFields, HttpNotifyBody } from "./request.ts";

export interface HttpRouteOptions {
  token: string;
  maxBodyBytes: number;
}

export type Notify = (caller: Caller, req: NotifyRequest) => Promise<NotifyResult>;

const STATUS: Record<RelayFailureKind, number> = { invalid: 400, forbidden: 403, "not-found": 404, failed: 502, timeout: 504 };

/** Constant-time: both sides are hashed to 32 bytes first, so neither length nor content leaks through timing. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
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
 * POST <relay.path> with `Authorization: Bearer <relay.authToken>` and a JSON body
 * `{sessionKey, message, channel?, to?, from?}`. Every refusal is a JSON `{ok:false, error}` with its
 * status and one log line, before anything reaches an agent.
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
    const presented = bearer(req);
    if (presented === undefined) return refuse(401, "missing bearer token (Authorization: Bearer <relay.authToken>)", { "www-authenticate": "Bearer" });
    if (!tokenMatches(presented, opts.token)) return refuse(401, "invalid bearer token", { "www-authenticate": "Bearer" });
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
    let result: NotifyResult;
    try {
      result = await notify({ id: from ?? "http", via: "http", anonymous: from === undefined }, { sessionKey, message, channel, to });
    } catch (err) {
      return refuse(500, `relay error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!result.ok) {
      if (isRefusal(result.kind)) return refuse(STATUS[result.kind], result.error);
      send(res, STATUS[result.kind], { ok: false, error: result.error }); // a failed turn: the relay logged it
      return true;
    }
    send(res, 200, result);
    return true;
  };
}
