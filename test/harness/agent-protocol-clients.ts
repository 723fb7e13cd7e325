import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInbox, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { connect as connectV2, createInbox as createInboxV2, type Msg as MsgV2 } from "nats";

/**
 * Agent-protocol callers for tests, on clients nobody on this project wrote: nats.js v3 used the
 * plain way (a request whose replies are collected until the empty terminator, which is what
 * `nats req --wait-for-empty` does), the legacy `nats` v2 npm client, and the NATS C client (libnats).
 */

/** One message of a response stream, as any of the clients saw it. */
export interface StreamMsg {
  /** UTF-8 payload. */
  data: string;
  bytes: number;
  /** `Nats-Service-Error-Code`, when the message carries it. */
  code?: string;
  /** Number of headers (the terminator has none). */
  headerCount: number;
  /** ms since the request was published. */
  at: number;
}

export interface StreamResult {
  messages: StreamMsg[];
  /** The zero-byte, header-less terminator arrived (else the inactivity timeout ended the wait). */
  terminated: boolean;
}

/** The chunks of a stream, parsed: what a caller makes of it. */
export function readStream(r: StreamResult): { acks: number; text: string; errors: Array<{ code: string; body: unknown }>; types: string[] } {
  let acks = 0;
  let text = "";
  const errors: Array<{ code: string; body: unknown }> = [];
  const types: string[] = [];
  for (const m of r.messages) {
    if (m.code !== undefined) {
      errors.push({ code: m.code, body: m.data ? JSON.parse(m.data) : undefined });
      types.push(`error:${m.code}`);
      continue;
    }
    if (m.bytes === 0) {
      types.push("end");
      continue;
    }
    const chunk = JSON.parse(m.data) as { type: string; data: unknown };
    types.push(chunk.type === "status" ? `status:${String(chunk.data)}` : chunk.type);
    if (chunk.type === "status" && chunk.data === "ack") acks++;
    if (chunk.type === "response") text += typeof chunk.data === "string" ? chunk.data : (chunk.data as { text: string }).text;
  }
  return { acks, text, errors, types };
}

function isTerminator(bytes: number, headerCount: number): boolean {
  return bytes === 0 && headerCount === 0;
}

/**
 * nats.js v3: subscribe an inbox, publish with it as reply, collect until the terminator. The inbox is a
 * fresh `_INBOX.<nuid>` unless given (pass `<prefix>.<n>` to look like a client's muxed request inbox).
 */
export async function streamV3(nc: NatsConnection, subject: string, payload: string | Uint8Array, opts: { inactivityMs?: number; inbox?: string; headers?: MsgHdrs } = {}): Promise<StreamResult> {
  const { inactivityMs = 60_000, inbox = createInbox() } = opts;
  const sub = nc.subscribe(inbox);
  const t0 = performance.now();
  nc.publish(subject, payload, { reply: inbox, ...(opts.headers ? { headers: opts.headers } : {}) });
  const messages: StreamMsg[] = [];
  let terminated = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => sub.unsubscribe(), inactivityMs);
  };
  arm();
  for await (const m of sub) {
    arm();
    const headerCount = m.headers ? [...m.headers.keys()].length : 0;
    messages.push({ data: m.string(), bytes: m.data.length, code: m.headers?.get("Nats-Service-Error-Code") || undefined, headerCount, at: performance.now() - t0 });
    if (isTerminator(m.data.length, headerCount)) {
      terminated = true;
      break;
    }
  }
  clearTimeout(timer);
  sub.unsubscribe();
  return { messages, terminated };
}

/** The legacy `nats` v2 npm client, on its own connection, the same plain way. */
export async function streamV2(url: string, subject: string, payload: string, inactivityMs = 60_000): Promise<StreamResult> {
  const nc = await connectV2({ servers: url });
  try {
    const inbox = createInboxV2();
    const sub = nc.subscribe(inbox);
    const t0 = performance.now();
    nc.publish(subject, new TextEncoder().encode(payload), { reply: inbox });
    const messages: StreamMsg[] = [];
    let terminated = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => sub.unsubscribe(), inactivityMs);
    };
    arm();
    for await (const m of sub as AsyncIterable<MsgV2>) {
      arm();
      const headerCount = m.headers ? [...m.headers.keys()].length : 0;
      messages.push({ data: new TextDecoder().decode(m.data), bytes: m.data.length, code: m.headers?.get("Nats-Service-Error-Code") || undefined, headerCount, at: performance.now() - t0 });
      if (isTerminator(m.data.length, headerCount)) {
        terminated = true;
        break;
      }
    }
    clearTimeout(timer);
    return { messages, terminated };
  } finally {
    await nc.close();
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
let cBinary: string | undefined;

/** Compiles test/fixtures/nats-c/agent_req.c against libnats once per test process. */
export function cClient(): string {
  if (cBinary && existsSync(cBinary)) return cBinary;
  const out = join(mkdtempSync(join(tmpdir(), "nats-c-")), "agent_req");
  try {
    execFileSync("cc", ["-Wall", "-O1", "-o", out, join(REPO_ROOT, "test", "fixtures", "nats-c", "agent_req.c"), "-lnats"], { stdio: "pipe" });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`cannot compile the NATS C client test program (needs cc and libnats-dev: apt-get install gcc libnats-dev): ${stderr || String(err)}`);
  }
  cBinary = out;
  return out;
}

function runC(args: string[], timeoutMs: number): Promise<{ lines: string[]; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cClient(), args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err && "code" in err && typeof err.code === "number" ? err.code : err ? null : 0;
      if (err && code !== 1) return reject(new Error(`agent_req ${args[1]} failed: ${stderr || err.message}`));
      resolvePromise({ lines: stdout.split("\n").filter(Boolean), code });
    });
  });
}

function parseCLines(lines: string[], t0: number): StreamMsg[] {
  return lines
    .filter((l) => l.startsWith("MSG "))
    .map((l) => {
      const [, bytes, code, headers, hex = ""] = l.split(" ");
      return { data: Buffer.from(hex, "hex").toString("utf8"), bytes: Number(bytes), code: code === "-" ? undefined : code, headerCount: Number(headers), at: performance.now() - t0 };
    });
}

/** The NATS C client: a prompt collected until the terminator. */
export async function streamC(url: string, subject: string, payload: string, inactivityMs = 60_000): Promise<StreamResult> {
  const t0 = performance.now();
  const { lines } = await runC([url, "stream", subject, payload, String(inactivityMs)], inactivityMs * 4 + 30_000);
  return { messages: parseCLines(lines, t0), terminated: lines.at(-1) === "END" };
}

/** The NATS C client: every reply to one request within `waitMs` (discovery). */
export async function collectC(url: string, subject: string, waitMs = 1000): Promise<string[]> {
  const t0 = performance.now();
  const { lines } = await runC([url, "collect", subject, "", String(waitMs)], waitMs + 30_000);
  return parseCLines(lines, t0).map((m) => m.data);
}
