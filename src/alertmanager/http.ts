import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, tokenMatches } from "../relay/http-route.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { httpTrace, traceResponseHeaders } from "../trace/http.ts";
import { parseWebhookPayload } from "./payload.ts";
import type { AlertReceiver } from "./receiver.ts";

export interface AlertHttpOptions {
  token: string;
  maxBodyBytes: number;
}

/**
 * The credential Alertmanager presents: `Authorization: Bearer <token>` (http_config.authorization)
 * or basic auth with the token as password (http_config.basic_auth; the username is not checked).
 */
export function presentedSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * POST <alertmanager.path>: auth, JSON, size, webhook v4 validation, then the receiver. A refusal is
 * 4xx (Alertmanager does not retry those: the payload or the credentials are wrong); a failure to
 * record the alert durably is 500, which Alertmanager retries.
 */
export function createAlertmanagerHandler(opts: AlertHttpOptions, receiver: AlertReceiver, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const who = req.socket.remoteAddress ?? "unknown";
    const refuse = (status: number, error: string, headers: Record<string, string> = {}): boolean => {
      receiver.counts.rejected++;
      log.warn(`nats: alertmanager receiver ${status} from ${who}: ${error}`);
      send(res, status, { ok: false, error }, headers);
      return true;
    };
    if (req.method !== "POST") return refuse(405, `method ${req.method ?? "?"} not allowed; use POST`, { allow: "POST" });
    const secret = presentedSecret(req.headers.authorization);
    const challenge = { "www-authenticate": 'Bearer realm="openclaw-nats alertmanager"' };
    if (secret === undefined) return refuse(401, "missing credentials (Authorization: Bearer <alertmanager.authToken>, or basic auth with it as password)", challenge);
    if (!tokenMatches(secret, opts.token)) return refuse(401, "invalid credentials", challenge);
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") return refuse(415, `content type must be application/json, not ${req.headers["content-type"] ?? "none"}`);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > opts.maxBodyBytes) {
      req.resume();
      return refuse(413, `body is ${declared} bytes, over alertmanager.maxBodyBytes ${opts.maxBodyBytes}`, { connection: "close" });
    }
    const body = await readBody(req, opts.maxBodyBytes);
    if (!body.ok) {
      if (!body.tooLarge) return true; // the client went away
      req.resume();
      return refuse(413, `body is over alertmanager.maxBodyBytes ${opts.maxBodyBytes}`, { connection: "close" });
    }
    const parsed = parseWebhookPayload(body.text);
    if (!parsed.ok) return refuse(400, parsed.error);
    try {
      const trace = httpTrace(req.headers, "the Alertmanager webhook", log);
      send(res, 200, await receiver.receive(parsed.payload, trace), traceResponseHeaders(trace));
    } catch (err) {
      log.error(`nats: alertmanager notification for ${parsed.payload.receiver} not recorded, answering 500 so Alertmanager retries: ${errorMessage(err)}`);
      send(res, 500, { ok: false, error: `alert not recorded: ${errorMessage(err)}` });
    }
    return true;
  };
}
