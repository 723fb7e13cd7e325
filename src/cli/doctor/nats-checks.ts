import { AckPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { createInbox, errors, nuid, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { redactSecrets } from "../../connection/redact.ts";
import { compareStream, isStreamNotFound, streamSpec, type StreamSpec } from "../../events/stream.ts";
import { errorMessage } from "../../shared/logger.ts";
import { expectedInboxConsumers, inboxStreamConfig } from "../../wake/layout.ts";
import type { ConnectionTarget, NatsCli } from "../context.ts";
import { fail, ok, skip, warn, type CheckResult } from "./check.ts";
import { jsDomain } from "../../connection/domain.ts";

/** Clock offsets (server − here) beyond these are a warning / a failure. */
export const SKEW_WARN_MS = 2000;
export const SKEW_FAIL_MS = 60_000;

/** Grace for the server to answer a forbidden SUB with its -ERR (it does so right after the flush). */
const PERMISSION_WAIT_MS = 500;

interface Connected {
  nc: NatsConnection | undefined;
  results: CheckResult[];
}

/** Server reachable, then credentials accepted: one connect tells both apart (auth error = it answered). */
export async function connectChecks(cli: NatsCli, target: ConnectionTarget): Promise<Connected> {
  const redact = (s: string): string => redactSecrets(s, target.secrets);
  try {
    const nc = await cli.openNats(target);
    const rtt = await nc.rtt().catch(() => undefined);
    const info = nc.info;
    return {
      nc,
      results: [
        ok("server", "server", `nats-server ${info?.version ?? "?"} answers at ${target.safeUrl}${rtt === undefined ? "" : ` (rtt ${rtt.toFixed(1)} ms)`}`),
        ok("credentials", "credentials", info?.auth_required ? "accepted" : "the server requires none"),
      ],
    };
  } catch (err) {
    const message = redact(errorMessage(err));
    if (err instanceof errors.AuthorizationError || err instanceof errors.UserAuthenticationExpiredError) {
      return {
        nc: undefined,
        results: [
          ok("server", "server", `a NATS server answers at ${target.safeUrl}`),
          fail("credentials", "credentials", `the server refused them: ${message}`, "check plugins.entries.nats.config.credentials (one of token, user + pass, nkeySeed, credsFile) against the server's authorization block"),
        ],
      };
    }
    return {
      nc: undefined,
      results: [
        fail("server", "server", `nothing answers at ${target.safeUrl}: ${message}`, "start one (`openclaw nats server start` runs a local nats-server with JetStream) or fix plugins.entries.nats.config.url"),
        skip("credentials", "credentials", "needs a server"),
      ],
    };
  }
}

/** JetStream on for this account: needed by the event store and the durable inbox. */
export async function jetstreamCheck(nc: NatsConnection, cfg: NatsPluginConfig): Promise<{ result: CheckResult; jsm: JetStreamManager | undefined }> {
  const needed = cfg.events.enabled || cfg.inbox.durable;
  try {
    const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: 5000 });
    const info = await jsm.getAccountInfo();
    return { jsm, result: ok("jetstream", "jetstream", `enabled (${info.streams} stream(s), ${info.consumers} consumer(s) in this account)`) };
  } catch (err) {
    const message = errorMessage(err);
    if (!needed) return { jsm: undefined, result: skip("jetstream", "jetstream", `not available (${message}); not needed with events off and no durable inbox`) };
    const permission = /permission/i.test(message);
    return {
      jsm: undefined,
      result: fail(
        "jetstream",
        "jetstream",
        permission ? `the user may not use the JetStream API: ${message}` : `not available: ${message}`,
        permission
          ? "allow publish to $JS.API.> (and subscribe to _INBOX.>) for this user in the server's authorization block"
          : "run nats-server with JetStream: `nats-server -js -sd <dir>` or `jetstream { store_dir: … }` in its config (for an account: `jetstream: enabled`); `openclaw nats server start` does this for you",
      ),
    };
  }
}

/** The events stream(s) on this connection and, with a durable inbox, its stream and consumer. */
export async function streamChecks(jsm: JetStreamManager, cfg: NatsPluginConfig, hosted?: readonly string[]): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  if (cfg.events.enabled) for (const spec of eventSpecs(cfg)) out.push(await eventStreamCheck(jsm, spec));
  else out.push(skip("streams", "events stream", "event store off"));
  if (cfg.inbox.durable) out.push(...(await inboxChecks(jsm, cfg, hosted)));
  return out;
}

/** The specs of the streams on the default connection's server, as the event store builds them. */
export function eventSpecs(cfg: NatsPluginConfig): StreamSpec[] {
  const byStream = new Map<string, string[]>([[cfg.events.streamName, [cfg.events.subjectPrefix]]]);
  for (const agent of Object.values(cfg.events.agents)) {
    // On another server: checked and created there. Own credentials on this server: the gateway's user
    // creates the stream (an isolated agent user may not create or change streams, see `openclaw nats permissions`).
    if (agent.url && agent.url !== cfg.url) continue;
    const name = agent.streamName ?? cfg.events.streamName;
    byStream.set(name, [...(byStream.get(name) ?? []), agent.subjectPrefix ?? cfg.events.subjectPrefix]);
  }
  return [...byStream].map(([name, prefixes]) => streamSpec(cfg.events, name, prefixes));
}

async function eventStreamCheck(jsm: JetStreamManager, spec: StreamSpec): Promise<CheckResult> {
  const title = `stream ${spec.name}`;
  try {
    const info = await jsm.streams.info(spec.name);
    const { updatable, fixed } = compareStream(info.config, spec);
    if (fixed.length > 0) {
      return fail("streams", title, `exists but ${fixed.join("; ")}`, `recreate it (this deletes its ${info.state.messages} message(s)): nats stream rm ${spec.name}, then restart the gateway or run openclaw nats setup`);
    }
    if (updatable.length > 0) {
      return warn("streams", title, `differs from the config: ${updatable.join(", ")}`, "restart the gateway or run `openclaw nats setup`: the plugin updates the stream to the config (a server refusal is logged)");
    }
    return ok("streams", title, `matches the config (${info.state.messages} message(s), ${spec.subjects.join(", ")})`);
  } catch (err) {
    if (isStreamNotFound(err)) return warn("streams", title, "does not exist yet", "the gateway creates it at start; `openclaw nats setup` creates it now");
    return fail("streams", title, `cannot look it up: ${errorMessage(err)}`, "allow publish to $JS.API.> for this user");
  }
}

async function inboxChecks(jsm: JetStreamManager, cfg: NatsPluginConfig, hosted: readonly string[] | undefined): Promise<CheckResult[]> {
  // The same layout the gateway builds (src/wake/layout.ts): one stream, one consumer per hosted agent.
  const want = inboxStreamConfig(cfg);
  const { streamName } = cfg.inbox;
  const title = `inbox ${streamName}`;
  let streamResult: CheckResult;
  try {
    const info = await jsm.streams.info(streamName);
    const c = info.config;
    const missing = want.subjects.filter((s) => !(c.subjects ?? []).includes(s));
    if (c.retention !== want.retention || c.storage !== want.storage) {
      streamResult = warn("inbox", title, `exists with retention "${c.retention}" and storage "${c.storage}"; the durable inbox wants "${want.retention}" and "${want.storage}" (the gateway uses it as it is)`, `recreate it: nats stream rm ${streamName} (its messages are lost), then restart the gateway`);
    } else if (missing.length > 0) {
      streamResult = warn("inbox", title, `does not cover ${missing.join(", ")}`, "restart the gateway: it updates the stream's subjects to plugins.entries.nats.config.subjects");
    } else streamResult = ok("inbox", title, `matches the config (${info.state.messages} message(s) waiting)`);
  } catch (err) {
    if (!isStreamNotFound(err)) return [fail("inbox", title, `cannot look it up: ${errorMessage(err)}`, "allow publish to $JS.API.> for this user")];
    return [warn("inbox", title, "does not exist yet: wake messages published now are not kept", "start the gateway (it creates the inbox) or run `openclaw nats setup`")];
  }
  const out = [streamResult];
  for (const { name } of expectedInboxConsumers(cfg, hosted)) {
    try {
      const ci = await jsm.consumers.info(streamName, name);
      out.push(
        ci.config.ack_policy === AckPolicy.Explicit
          ? ok("inbox", `consumer ${name}`, `present (${ci.num_pending} pending, ${ci.num_ack_pending} awaiting ack, ${ci.num_redelivered} redelivered)`)
          : fail("inbox", `consumer ${name}`, `ack policy "${ci.config.ack_policy}", the inbox needs "explicit"`, `nats consumer rm ${streamName} ${name}, then restart the gateway`),
      );
    } catch (err) {
      const missing = err instanceof JetStreamApiError && /consumer not found/i.test(err.message);
      out.push(missing ? warn("inbox", `consumer ${name}`, "does not exist yet", "start the gateway: it creates the consumer") : fail("inbox", `consumer ${name}`, errorMessage(err), "allow publish to $JS.API.> for this user"));
    }
  }
  return out;
}

/**
 * What the plugin's user may do, tried for real without side effects: SUB to each wake subject and to
 * a reply inbox (the server answers a forbidden SUB with -ERR), and a JetStream publish to each
 * events prefix that expects an impossible last sequence (allowed → the stream refuses to store it;
 * forbidden → permissions violation). The dead-letter subject and the tool's subjects are not
 * probed: a message there would reach real subscribers.
 */
export async function permissionChecks(nc: NatsConnection, cfg: NatsPluginConfig): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const subjects = cfg.inbox.durable ? [] : cfg.subjects;
  const denied: string[] = [];
  for (const subject of [...subjects, createInbox()]) {
    const sub = nc.subscribe(subject);
    let violation: unknown;
    void sub.closed.then((err) => (violation = err));
    await nc.flush();
    await new Promise((r) => setTimeout(r, PERMISSION_WAIT_MS));
    if (violation instanceof errors.PermissionViolationError) denied.push(subject.startsWith("_INBOX.") ? "_INBOX.> (replies)" : subject);
    if (!sub.isClosed()) sub.unsubscribe();
  }
  const subTitle = "subscribe permission";
  const checked = [...subjects, "_INBOX.>"].join(", ");
  out.push(
    denied.length === 0
      ? ok("permissions", subTitle, `may subscribe to ${checked}`)
      : fail("permissions", subTitle, `the server refuses SUB to ${denied.join(", ")}`, `allow subscribe to ${denied.map((d) => d.replace(" (replies)", "")).join(", ")} for this user (authorization.users[].permissions.subscribe.allow in the nats-server config)`),
  );
  if (!cfg.events.enabled) return out;
  const js = jetstream(nc, { ...jsDomain(nc), timeout: 3000 });
  const pubDenied: string[] = [];
  const noStream: string[] = [];
  for (const prefix of new Set([cfg.events.subjectPrefix, ...Object.values(cfg.events.agents).filter((a) => !a.url && !a.credentials).map((a) => a.subjectPrefix ?? cfg.events.subjectPrefix)])) {
    const subject = `${prefix}.doctor.permission_probe`;
    try {
      await js.publish(subject, "", { msgID: `doctor-${nuid.next()}`, expect: { lastSequence: Number.MAX_SAFE_INTEGER } });
    } catch (err) {
      const message = errorMessage(err);
      if (/permission/i.test(message)) pubDenied.push(`${prefix}.>`);
      else if (err instanceof errors.NoRespondersError || /no responders/i.test(message)) noStream.push(`${prefix}.>`);
      // JetStreamApiError "wrong last sequence": allowed, and nothing was stored.
    }
  }
  const pubTitle = "publish permission";
  if (pubDenied.length > 0) {
    out.push(fail("permissions", pubTitle, `the server refuses PUB to ${pubDenied.join(", ")}: events stay in the spool`, `allow publish to ${pubDenied.join(", ")} for this user (authorization.users[].permissions.publish.allow)`));
  } else {
    out.push(ok("permissions", pubTitle, `may publish events${noStream.length ? ` (no stream takes ${noStream.join(", ")} yet)` : ""}; dead-letter and tool subjects not probed`));
  }
  return out;
}

/**
 * The server's clock against ours: a message stored in a throw-away memory stream carries the
 * server's time. Skew shows up as wrong event times, early or late expiry (max_age) and, with JWT
 * credentials, refused logins.
 */
export async function clockCheck(jsm: JetStreamManager, nc: NatsConnection): Promise<CheckResult> {
  const title = "clock";
  const name = `OPENCLAW_DOCTOR_${nuid.next()}`;
  const subject = `_openclaw.doctor.clock.${nuid.next()}`;
  try {
    await jsm.streams.add({ name, subjects: [subject], storage: StorageType.Memory, max_msgs: 1, max_age: 60_000_000_000 });
  } catch (err) {
    return skip("clock", title, `cannot create a scratch stream to read the server's time (${errorMessage(err)})`);
  }
  try {
    const before = Date.now();
    await jetstream(nc, jsDomain(nc)).publish(subject, "");
    const after = Date.now();
    const stored = await jsm.streams.getMessage(name, { seq: 1 });
    if (!stored) return skip("clock", title, "the scratch message was not readable");
    const serverMs = stored.time.getTime();
    const skew = serverMs - (before + after) / 2;
    const slack = (after - before) / 2;
    const abs = Math.max(0, Math.abs(skew) - slack);
    const what = `server − here = ${(skew / 1000).toFixed(3)} s (±${(slack / 1000).toFixed(3)} s)`;
    if (abs < SKEW_WARN_MS) return ok("clock", title, `in step: ${what}`);
    const fix = "sync both clocks with NTP (timedatectl set-ntp true, chrony or ntpd) on this machine and the server's";
    return abs < SKEW_FAIL_MS ? warn("clock", title, `skewed: ${what}`, fix) : fail("clock", title, `far apart: ${what}; event times and stream expiry are off by as much`, fix);
  } catch (err) {
    return skip("clock", title, `could not read the server's time: ${errorMessage(err)}`);
  } finally {
    await jsm.streams.delete(name).catch(() => undefined);
  }
}
