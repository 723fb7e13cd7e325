import { connect, wsconnect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { createBackoff } from "./backoff.ts";
import { setJetStreamDomain } from "./domain.ts";
import { authOptions, dialTarget, isWebSocketUrl, serverList, type ConnectionSettings } from "./options.ts";
import { credentialSecrets, redactSecrets, redactUrl } from "./redact.ts";

export interface LinkStatus {
  connected: boolean;
  server: string | undefined;
  connects: number;
  disconnects: number;
  reconnects: number;
  lastError: string | undefined;
}

type ConnectHandler = (nc: NatsConnection) => void | Promise<void>;

/**
 * One shared NATS connection for the plugin, using the client's own reconnect loop.
 * Starts in the background (the gateway never waits on NATS) and keeps trying at boot.
 */
export class NatsLink {
  private readonly settings: ConnectionSettings;
  private readonly log: Logger;
  private nc: NatsConnection | undefined;
  private stopping = false;
  /** Ends the wait between two connect attempts (set while connectLoop() waits). */
  private wakeRetry: (() => void) | undefined;
  private readonly onConnectHandlers = new Set<ConnectHandler>();
  private readonly state: LinkStatus = { connected: false, server: undefined, connects: 0, disconnects: 0, reconnects: 0, lastError: undefined };
  private readonly backoff;
  private started: Promise<void> | undefined;
  /** Bumped by each start(): a loop from before a stop → start ends instead of running beside the new one. */
  private generation = 0;

  constructor(settings: ConnectionSettings, log: Logger) {
    this.settings = settings;
    this.log = log;
    this.backoff = createBackoff(settings.reconnect.delayMs, settings.reconnect.maxDelayMs);
  }

  /** The live connection, or undefined before the first connect / after close. */
  get current(): NatsConnection | undefined {
    return this.nc && !this.nc.isClosed() ? this.nc : undefined;
  }

  get isConnected(): boolean {
    return this.state.connected;
  }

  status(): LinkStatus {
    return { ...this.state };
  }

  /** Run `handler` once connected (now, if already connected). Subscriptions survive reconnects on their own. */
  onConnect(handler: ConnectHandler): () => void {
    this.onConnectHandlers.add(handler);
    if (this.nc && this.state.connected) void this.runHandler(handler, this.nc);
    return () => this.onConnectHandlers.delete(handler);
  }

  /** Connect in the background; after stop(), start() connects again (a service stop → start). */
  start(): Promise<void> {
    if (!this.started) {
      this.stopping = false;
      this.generation++;
      this.started = this.connectLoop(this.generation);
    }
    return this.started;
  }

  /** Resolves with the connection once connected (or rejects after timeoutMs). */
  async ready(timeoutMs = 30_000): Promise<NatsConnection> {
    const deadline = Date.now() + timeoutMs;
    while (!this.current || !this.state.connected) {
      if (this.stopping) throw new Error("nats: link stopped");
      if (Date.now() > deadline) throw new Error(`nats: not connected after ${timeoutMs} ms (${this.state.lastError ?? "no error yet"})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.current;
  }

  private redact(text: string): string {
    const c = dialTarget(this.settings.url, this.settings.credentials).credentials;
    return redactSecrets(text, credentialSecrets(c));
  }

  private options(): ConnectionOptions {
    const { maxAttempts } = this.settings.reconnect;
    const { servers, credentials } = dialTarget(this.settings.url, this.settings.credentials);
    return {
      servers,
      name: this.settings.name,
      maxReconnectAttempts: maxAttempts,
      // No waitOnFirstConnect: with it, a first connect that never succeeds retries inside connect()
      // forever, and nothing can cancel it — a stop() during it left that loop (and the process) running.
      // Each connect() is one pass over the servers; connectLoop() retries with the backoff and ends on stop.
      waitOnFirstConnect: false,
      reconnectDelayHandler: () => this.backoff.next(),
      ...(this.settings.inboxPrefix ? { inboxPrefix: this.settings.inboxPrefix } : {}),
      ...authOptions({ credentials, tls: this.settings.tls }),
    };
  }

  private async connectLoop(generation: number): Promise<void> {
    const target = serverList(this.settings.url).map(redactUrl).join(",");
    // The first connect is retried here (see options()); once connected the client reconnects itself,
    // and this loop starts over only when it gives up (maxAttempts reached, auth rejected).
    const over = (): boolean => this.stopping || generation !== this.generation;
    let logged: string | undefined;
    while (!over()) {
      try {
        const opts = this.options();
        const nc = isWebSocketUrl(this.settings.url) ? await wsconnect(opts) : await connect(opts);
        if (over()) {
          await nc.close();
          return;
        }
        this.nc = nc;
        setJetStreamDomain(nc, this.settings.jetstreamDomain);
        this.onConnected(nc);
        this.watch(nc);
        const err = await nc.closed();
        if (over()) return;
        this.state.connected = false;
        this.state.lastError = err ? this.redact(errorMessage(err)) : "connection closed";
        this.log.warn(`nats: connection to ${target} closed (${this.state.lastError}); starting over`);
      } catch (err) {
        this.state.lastError = this.redact(errorMessage(err));
        // One line per distinct failure, not one per retry (a server that is down for an hour).
        if (this.state.lastError !== logged) this.log.warn(`nats: cannot connect to ${target}: ${this.state.lastError}`);
        logged = this.state.lastError;
      }
      if (over()) return;
      // A stop() ends this wait at once, so a stopped link holds no timer.
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          this.wakeRetry = undefined;
          r();
        }, this.backoff.next());
        this.wakeRetry = () => {
          clearTimeout(timer);
          this.wakeRetry = undefined;
          r();
        };
      });
    }
  }

  private onConnected(nc: NatsConnection): void {
    this.backoff.reset();
    this.state.connected = true;
    this.state.connects++;
    this.state.server = redactUrl(nc.getServer());
    this.log.info(`nats: connected to ${this.state.server}`);
    for (const h of this.onConnectHandlers) void this.runHandler(h, nc);
  }

  private async runHandler(handler: ConnectHandler, nc: NatsConnection): Promise<void> {
    try {
      await handler(nc);
    } catch (err) {
      this.log.error(`nats: connect handler failed: ${this.redact(errorMessage(err))}`);
    }
  }

  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        switch (s.type) {
          case "disconnect":
            this.state.connected = false;
            this.state.disconnects++;
            this.log.warn(`nats: disconnected from ${redactUrl(s.server)}`);
            break;
          case "reconnecting":
            this.log.info(`nats: reconnecting (attempt ${this.backoff.attempt})`);
            break;
          case "reconnect":
            this.state.reconnects++;
            this.onConnected(nc);
            break;
          case "error":
            this.state.lastError = this.redact(errorMessage(s.error));
            this.log.warn(`nats: ${this.state.lastError}`);
            break;
          default:
            break;
        }
      }
    })();
  }

  /** Drain (flush pending publishes, finish subscriptions) and close. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = undefined;
    this.wakeRetry?.();
    const nc = this.nc;
    this.nc = undefined;
    this.state.connected = false;
    if (!nc || nc.isClosed()) return;
    try {
      await nc.drain();
    } catch {
      await nc.close().catch(() => {});
    }
  }
}
