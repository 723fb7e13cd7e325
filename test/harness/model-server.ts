import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/** One message of an OpenAI chat request; content is a string or an array of parts. */
export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  [key: string]: unknown;
}

export interface ChatRequestBody {
  model?: string;
  stream?: boolean;
  messages: ChatMessage[];
  tools?: Array<{ type: string; function: { name: string; [key: string]: unknown } }>;
  [key: string]: unknown;
}

export interface RecordedRequest {
  /** 0-based position in `requests`. */
  index: number;
  body: ChatRequestBody;
  /** Date.now() when the body was fully read. */
  receivedAt: number;
  /** Sub-millisecond epoch ms (performance.timeOrigin + performance.now()). */
  receivedAtHr: number;
}

export interface ToolCallReply {
  name: string;
  arguments: object;
}

/** How a streamed reply's text is cut into deltas: these parts in order, with a pause before each after the first. */
export interface ReplyStreaming {
  parts: string[];
  delayMs?: number;
}

export type ModelReply =
  | (({ text: string; toolCalls?: ToolCallReply[] } | { text?: string; toolCalls: ToolCallReply[] }) & { streaming?: ReplyStreaming })
  /** Answer with an HTTP error instead (e.g. 400: a request the provider refuses, which the host does not retry). */
  | { httpError: number; message: string };

export type ReplyHandler = (req: RecordedRequest) => ModelReply | Promise<ModelReply>;

type Waiter = { predicate: (req: RecordedRequest) => boolean; resolve: (req: RecordedRequest) => void };

/** All message contents (string or text parts) of a request, joined with newlines. */
export function promptText(req: RecordedRequest): string {
  const out: string[] = [];
  for (const msg of req.body.messages ?? []) {
    const content = msg.content;
    if (typeof content === "string") out.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (typeof part === "string") out.push(part);
        else if (part && typeof part === "object" && "text" in part && typeof part.text === "string") out.push(part.text);
      }
    }
  }
  return out.join("\n");
}

/** A scripted OpenAI-compatible chat-completions server on 127.0.0.1 that records what it gets. */
export class ScriptedModel {
  readonly requests: RecordedRequest[] = [];
  readonly baseUrl: string;
  private handler: ReplyHandler = () => ({ text: "ok" });
  private waiters: Waiter[] = [];
  private readonly server: Server;
  private seq = 0;

  private constructor(server: Server) {
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  static async start(): Promise<ScriptedModel> {
    // The host's fetch reuses idle connections; with Node's 5 s default the server may close one just as a
    // slow (loaded) gateway sends its next request on it (UND_ERR_SOCKET, "fetch failed"). close() ends them all.
    const server = createServer({ keepAliveTimeout: 120_000 });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const model = new ScriptedModel(server);
    server.on("request", (req, res) => {
      model.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: String(err) } }));
      });
    });
    return model;
  }

  /** Replace the reply script. Default: text "ok". */
  reply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  countMatching(predicate: (req: RecordedRequest) => boolean): number {
    return this.requests.filter(predicate).length;
  }

  /** First request (already received or still to come) that matches. */
  waitFor(predicate: (req: RecordedRequest) => boolean, timeoutMs = 30_000): Promise<RecordedRequest> {
    const seen = this.requests.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (req) => {
          clearTimeout(timer);
          resolve(req);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const summary = this.requests.map((r) => `  #${r.index}: ${promptText(r).slice(-300).replace(/\s+/g, " ")}`);
        reject(
          new Error(
            `ScriptedModel: no matching request within ${timeoutMs} ms; received ${this.requests.length}:\n${summary.join("\n")}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, { object: "list", data: [{ id: "echo", object: "model", created: 0, owned_by: "test" }] });
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `not found: ${req.method} ${path}` } }));
      return;
    }
    const body = JSON.parse(await readBody(req)) as ChatRequestBody;
    const recorded: RecordedRequest = {
      index: this.requests.length,
      body,
      receivedAt: Date.now(),
      receivedAtHr: performance.timeOrigin + performance.now(),
    };
    this.requests.push(recorded);
    for (const w of this.waiters.filter((w) => w.predicate(recorded))) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(recorded);
    }
    const reply = await this.handler(recorded);
    if ("httpError" in reply) {
      res.writeHead(reply.httpError, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: reply.message, type: "invalid_request_error" } }));
      return;
    }
    const id = `chatcmpl-${++this.seq}`;
    const toolCalls = (reply.toolCalls ?? []).map((tc, i) => ({
      id: `call_${this.seq}_${i}`,
      type: "function",
      function: { name: tc.name, arguments: JSON.stringify(tc.arguments) },
    }));
    const text = reply.text ?? "";
    const finishReason = toolCalls.length > 0 ? "tool_calls" : "stop";
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? "echo";
    if (!body.stream) {
      return sendJson(res, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
            finish_reason: finishReason,
          },
        ],
        usage,
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const chunk = (delta: object, finish: string | null, extra: object = {}): void => {
      const payload = { id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra };
      res.write(`data: ${JSON.stringify(payload)}\n\n`);
    };
    chunk({ role: "assistant", content: "" }, null);
    if (reply.streaming) {
      for (const [i, part] of reply.streaming.parts.entries()) {
        if (i > 0 && reply.streaming.delayMs) await new Promise((r) => setTimeout(r, reply.streaming?.delayMs));
        if (res.destroyed) return;
        chunk({ content: part }, null);
      }
    } else if (text) chunk({ content: text }, null);
    toolCalls.forEach((tc, index) => {
      chunk({ tool_calls: [{ index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }] }, null);
      chunk({ tool_calls: [{ index, function: { arguments: tc.function.arguments } }] }, null);
    });
    chunk({}, finishReason, { usage });
    res.end("data: [DONE]\n\n");
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}
