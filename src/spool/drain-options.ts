import type { NatsConnection } from "@nats-io/transport-node";

// What a LaneDrainer (drain.ts) is given and what it reports: the link, the settings, the counters.

/** The part of NatsLink the drainer needs. */
export interface DrainLink {
  readonly current: NatsConnection | undefined;
  readonly isConnected: boolean;
  status(): { connects: number; disconnects: number };
}

export interface DrainOptions {
  /** Publishes awaiting their JetStream ack at once (events.spool.inFlight). */
  inFlight: number;
  /** How long one publish waits for its ack before it counts as failed. */
  publishTimeoutMs: number;
  /** Upper bound of the retry pause after a failed publish (it doubles from 100 ms). */
  maxBackoffMs: number;
  /** True once the lane may publish (its streams were provisioned on the current connection). */
  ready: () => boolean;
  /** Told about every failed publish (for a "last error" status line). */
  onError?: (message: string) => void;
}

export interface DrainStats {
  published: number;
  duplicates: number;
  failures: number;
  /** Rows given up on because the server can never take them (too large). */
  rejected: number;
  lastError: string | undefined;
}
