import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";

/**
 * The local nats-server with JetStream: the embedded default for a gateway with no NATS yet.
 * `openclaw nats server start|stop|status` runs it in the background from the OpenClaw state dir;
 * `npm start` runs the same server in the foreground for the demo. Both go through this module.
 */

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 4222;

export class NatsServerMissingError extends Error {
  constructor(detail: string) {
    super(`nats-server is not installed (${detail})`);
    this.name = "NatsServerMissingError";
  }
}

/** How to install nats-server, for the message a person sees when it is missing. */
export const INSTALL_HINT =
  "install it: `sudo apt-get install nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS), or a release from the NATS project; or set NATS_SERVER_BIN to its path";

/** Path of the nats-server binary: $NATS_SERVER_BIN, else PATH, else Debian's /usr/sbin and /usr/local/bin. */
export function natsServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.NATS_SERVER_BIN;
  if (override) {
    if (!existsSync(override)) throw new NatsServerMissingError(`NATS_SERVER_BIN=${override} does not exist`);
    return override;
  }
  const dirs = (env.PATH ?? "").split(":").filter(Boolean).concat(["/usr/sbin", "/usr/local/bin"]);
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (existsSync(candidate)) return candidate;
  }
  throw new NatsServerMissingError("not on PATH, nor in /usr/sbin or /usr/local/bin");
}

/** True when a NATS server answers at host:port (it greets every client with an INFO line). */
export function answersNats(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect(port, host);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs);
    sock.once("data", (d) => done(d.toString().startsWith("INFO")));
    sock.once("error", () => done(false));
    sock.once("timeout", () => done(false));
  });
}

/** Host and port of a `nats://host:port` URL (the first server of a list). */
export function hostPort(url: string): { host: string; port: number } {
  const first = url.split(",")[0].trim();
  const u = new URL(first.replace(/^[a-z]+:/i, "http:"));
  return { host: u.hostname.replace(/^\[|\]$/g, "") || DEFAULT_HOST, port: Number(u.port || DEFAULT_PORT) };
}

export interface LocalServerPaths {
  dir: string;
  configFile: string;
  pidFile: string;
  logFile: string;
  /** JetStream store_dir (nats-server adds a `jetstream/` folder inside). */
  storeDir: string;
  /** host:port of the last start, so status and stop know where it listens. */
  listenFile: string;
}

/** Where the local server keeps its files: `<plugin state dir>/server`. */
export function localServerPaths(pluginDir: string): LocalServerPaths {
  const dir = join(pluginDir, "server");
  return {
    dir,
    configFile: join(dir, "nats-server.conf"),
    pidFile: join(dir, "nats-server.pid"),
    logFile: join(dir, "nats-server.log"),
    storeDir: join(dir, "data"),
    listenFile: join(dir, "listen"),
  };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export interface LocalServerState {
  running: boolean;
  /** The pid of our server when running; the recorded pid when the process is gone (stale). */
  pid: number | undefined;
  stalePidFile: boolean;
  host: string;
  port: number;
  url: string;
  /** Whether anything (ours or not) answers NATS at host:port. */
  answering: boolean;
  dir: string;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True if `pid` is alive and is a nats-server: a pid file can outlive its process and the pid be
 * reused by something else, which must never be signalled.
 */
export function isNatsServerProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].endsWith("nats-server");
  } catch {
    return process.platform !== "linux"; // no /proc: trust the pid file
  }
}

function readListen(paths: LocalServerPaths): { host: string; port: number } {
  try {
    const [host, port] = readFileSync(paths.listenFile, "utf8").trim().split(" ");
    if (host && Number(port) > 0) return { host, port: Number(port) };
  } catch {
    // never started here
  }
  return { host: DEFAULT_HOST, port: DEFAULT_PORT };
}

function urlOf(host: string, port: number): string {
  return `nats://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function localServerStatus(paths: LocalServerPaths): Promise<LocalServerState> {
  const { host, port } = readListen(paths);
  const pid = readPid(paths.pidFile);
  const running = pid !== undefined && isNatsServerProcess(pid);
  return { running, pid, stalePidFile: pid !== undefined && !running, host, port, url: urlOf(host, port), answering: await answersNats(host, port), dir: paths.dir };
}

export interface StartOptions {
  host?: string;
  port?: number;
  /** Run in the background, outliving this process (the CLI); false: a child that dies with us (npm start). */
  detached: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the server to answer. */
  timeoutMs?: number;
}

export interface StartResult {
  pid: number;
  url: string;
  alreadyRunning: boolean;
  /** The child process when not detached (the caller stops it). */
  child?: ChildProcess;
}

export class LocalServerError extends Error {
  readonly next: string | undefined;
  constructor(message: string, next?: string) {
    super(message);
    this.name = "LocalServerError";
    this.next = next;
  }
}

function configText(paths: LocalServerPaths, host: string, port: number): string {
  return [
    "# Written by openclaw-nats (openclaw nats server start); rewritten at every start.",
    `listen: "${host.includes(":") ? `[${host}]` : host}:${port}"`,
    `server_name: "openclaw-local"`,
    `pid_file: "${paths.pidFile}"`,
    `jetstream { store_dir: "${paths.storeDir}" }`,
    "",
  ].join("\n");
}

function logTail(paths: LocalServerPaths, lines = 5): string {
  try {
    return readFileSync(paths.logFile, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Start the local server (JetStream on, loopback only). Idempotent: when our server already runs,
 * says so. Refuses a non-loopback address (this server has no auth) and a port another server holds.
 */
export async function startLocalServer(paths: LocalServerPaths, opts: StartOptions): Promise<StartResult> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  if (!isLoopback(host)) {
    throw new LocalServerError(`the local server has no authentication, so it only listens on loopback (got --host ${host})`, "for a server other machines reach, run nats-server with accounts and TLS and point the plugin at it (openclaw nats setup --url …)");
  }
  const state = await localServerStatus(paths);
  if (state.running && state.pid !== undefined) {
    if (state.host === host && state.port === port) return { pid: state.pid, url: state.url, alreadyRunning: true };
    throw new LocalServerError(`the local server already runs on ${state.url} (pid ${state.pid})`, "stop it first: openclaw nats server stop");
  }
  if (await answersNats(host, port)) {
    throw new LocalServerError(`a NATS server already answers at ${urlOf(host, port)} (not one this command started)`, `use it: openclaw nats setup --url ${urlOf(host, port)}; or start the local one on another port: --port <n>`);
  }
  const bin = natsServerBinary(opts.env);
  mkdirSync(paths.storeDir, { recursive: true });
  rmSync(paths.pidFile, { force: true });
  writeFileSync(paths.configFile, configText(paths, host, port));
  writeFileSync(paths.listenFile, `${host} ${port}\n`);
  const child = spawn(bin, ["-c", paths.configFile, "-l", paths.logFile], { detached: opts.detached, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.once("error", () => undefined); // reported through `exited` / the wait below
  if (opts.detached) child.unref();
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let early: number | null | undefined;
  void exited.then((code) => (early = code));
  while (Date.now() < deadline) {
    if (early !== undefined) break;
    if (await answersNats(host, port, 500)) {
      return { pid: child.pid ?? readPid(paths.pidFile) ?? 0, url: urlOf(host, port), alreadyRunning: false, child: opts.detached ? undefined : child };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (early === undefined) child.kill("SIGTERM");
  const tail = logTail(paths);
  throw new LocalServerError(`nats-server did not start on ${urlOf(host, port)}${early !== undefined ? ` (exited with code ${early})` : ""}${tail ? `:\n${tail}` : ""}`, `see ${paths.logFile}`);
}

/** Stop our local server (SIGTERM, then wait); true when it was running. Never signals a pid that is not a nats-server. */
export async function stopLocalServer(paths: LocalServerPaths, timeoutMs = 15_000): Promise<{ stopped: boolean; pid: number | undefined }> {
  const pid = readPid(paths.pidFile);
  if (pid === undefined || !isNatsServerProcess(pid)) {
    rmSync(paths.pidFile, { force: true });
    return { stopped: false, pid };
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isNatsServerProcess(pid)) await new Promise((r) => setTimeout(r, 100));
  if (isNatsServerProcess(pid)) throw new LocalServerError(`nats-server (pid ${pid}) did not stop within ${timeoutMs} ms`, `kill ${pid} by hand if it hangs; its log is ${paths.logFile}`);
  rmSync(paths.pidFile, { force: true });
  return { stopped: true, pid };
}
