import { takeUserInfo } from "../../connection/options.ts";

/**
 * `openclaw nats import-config`: maps the settings of the plugins this one replaces onto
 * `plugins.entries.nats`. Every old key is either carried (and said where to) or listed with why
 * not; the README's "Coming from …" table says the same.
 *
 * Sources: plugins.entries["nats-wake"] (PR openclaw/openclaw#7555), ["nats-eventstore"]
 * (@vainplex/nats-eventstore, whose config may live in an external file), ["openclaw-agent-relay"],
 * and the core event store block of the event-sourced-memory fork (`gateway.eventStore`) or of
 * PR #18171 (top-level `eventStore`).
 */

export const LEGACY_PLUGINS = ["nats-wake", "nats-eventstore", "openclaw-agent-relay"] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface Carried {
  from: string;
  to: string;
}
export interface Dropped {
  from: string;
  why: string;
}

export interface ImportPlan {
  /** What to merge into plugins.entries.nats.config (before merging with an existing entry). */
  config: Obj;
  /** Set hooks.allowConversationAccess: the old event stores recorded run/LLM events. */
  conversationAccess: boolean;
  carried: Carried[];
  dropped: Dropped[];
  /** Old plugin entries found (to disable), and core blocks found (to remove). */
  plugins: string[];
  coreBlocks: Array<"gateway.eventStore" | "eventStore">;
}

export interface ImportEnv {
  /** Reads nats-eventstore's external config file (configPath or ~/.openclaw/plugins/nats-eventstore/config.json). */
  readJson: (path: string) => unknown;
  home: string;
}

class Builder {
  readonly config: Obj = {};
  readonly carried: Carried[] = [];
  readonly dropped: Dropped[] = [];

  set(path: string, value: unknown, from: string): void {
    const keys = path.split(".");
    let node = this.config;
    for (const k of keys.slice(0, -1)) {
      if (!isObj(node[k])) node[k] = {};
      node = node[k] as Obj;
    }
    const last = keys[keys.length - 1];
    const prev = node[last];
    if (prev !== undefined && JSON.stringify(prev) !== JSON.stringify(value)) {
      this.drop(from, `${path} is already set from another old entry; kept that one`);
      return;
    }
    node[last] = value;
    this.carried.push({ from, to: path });
  }

  drop(from: string, why: string): void {
    this.dropped.push({ from, why });
  }

  get(path: string): unknown {
    let node: unknown = this.config;
    for (const k of path.split(".")) node = isObj(node) ? node[k] : undefined;
    return node;
  }

  /** A server URL; user:password in it become credentials (nats.js takes them from options only). */
  url(raw: unknown, from: string, urlPath = "url", credsPath = "credentials"): void {
    if (typeof raw !== "string" || raw.trim() === "") return this.drop(from, "not a URL string");
    const { url: clean, credentials } = takeUserInfo(raw.trim());
    const prev = this.get(urlPath);
    if (prev !== undefined && prev !== clean) {
      return this.drop(from, `points at ${clean}, but ${urlPath} is already ${String(prev)} from another old entry: this plugin uses one server (set events.agents.<id>.url to send an agent's events elsewhere)`);
    }
    this.set(urlPath, clean, from);
    if (credentials && "token" in credentials) this.set(`${credsPath}.token`, credentials.token, `${from} (token in the URL)`);
    else if (credentials) {
      this.set(`${credsPath}.user`, credentials.user, `${from} (user in the URL)`);
      this.set(`${credsPath}.pass`, credentials.pass, `${from} (password in the URL)`);
    }
  }
}

function copyKeys(b: Builder, src: Obj, prefix: string, map: Record<string, string>): void {
  for (const [k, to] of Object.entries(map)) if (src[k] !== undefined) b.set(to, src[k], `${prefix}.${k}`);
}

function unknownKeys(b: Builder, src: Obj, prefix: string, known: string[]): void {
  for (const k of Object.keys(src)) if (!known.includes(k)) b.drop(`${prefix}.${k}`, "not a key that plugin documented; left out");
}

function natsWake(b: Builder, entry: Obj): void {
  const p = 'plugins.entries["nats-wake"]';
  const c = isObj(entry.config) ? entry.config : {};
  const cp = `${p}.config`;
  // nats-wake was off unless config.enabled was true.
  if (c.enabled !== true || entry.enabled === false) b.drop(`${cp}.enabled`, "nats-wake was off; its settings are imported, and waking is on in this plugin (turn it off with config.enabled: false)");
  else b.carried.push({ from: `${cp}.enabled`, to: "plugins.entries.nats.enabled" });
  if (c.url !== undefined) b.url(c.url, `${cp}.url`);
  if (c.subjects !== undefined) b.set("subjects", c.subjects, `${cp}.subjects`);
  if (isObj(c.credentials)) {
    copyKeys(b, c.credentials, `${cp}.credentials`, { token: "credentials.token", user: "credentials.user", pass: "credentials.pass" });
    unknownKeys(b, c.credentials, `${cp}.credentials`, ["token", "user", "pass"]);
  }
  if (isObj(c.reconnect)) {
    copyKeys(b, c.reconnect, `${cp}.reconnect`, { maxAttempts: "reconnect.maxAttempts", delayMs: "reconnect.delayMs", maxDelayMs: "reconnect.maxDelayMs" });
    unknownKeys(b, c.reconnect, `${cp}.reconnect`, ["maxAttempts", "delayMs", "maxDelayMs"]);
  }
  copyKeys(b, c, cp, { defaultAgent: "defaultAgent", agentName: "agentName" });
  unknownKeys(b, c, cp, ["enabled", "url", "subjects", "credentials", "reconnect", "defaultAgent", "agentName"]);
}

const EVENT_TIMEOUTS: Record<string, string> = {
  publishTimeoutMs: "fixed here: a publish waits 5 s for its JetStream ack and is retried from the spool, never dropped",
  connectTimeoutMs: "not needed: the connection is made in the background and the gateway never waits on it",
  drainTimeoutMs: "not needed: unpublished events stay in the local spool across restarts",
};

/** The shared event-store keys of nats-eventstore and the core event store blocks. */
function eventStoreKeys(b: Builder, c: Obj, prefix: string): void {
  if (c.enabled !== undefined) b.set("events.enabled", c.enabled !== false, `${prefix}.enabled`);
  const url = c.natsUrl ?? c.url;
  if (url !== undefined) b.url(url, `${prefix}.${c.natsUrl !== undefined ? "natsUrl" : "url"}`);
  copyKeys(b, c, prefix, { streamName: "events.streamName", subjectPrefix: "events.subjectPrefix" });
  if (isObj(c.retention)) {
    const r = c.retention;
    for (const k of ["maxMessages", "maxBytes", "maxAgeHours"]) if (r[k] !== undefined) b.set(`events.retention.${k}`, Number(r[k]), `${prefix}.retention.${k}`);
    unknownKeys(b, r, `${prefix}.retention`, ["maxMessages", "maxBytes", "maxAgeHours"]);
  }
}

function natsEventstore(b: Builder, entry: Obj, env: ImportEnv): void {
  const p = 'plugins.entries["nats-eventstore"]';
  let c = isObj(entry.config) ? entry.config : {};
  let cp = `${p}.config`;
  // Its newer versions keep the settings in a file when the entry has only enabled/configPath.
  if (Object.keys(c).every((k) => k === "enabled" || k === "configPath")) {
    const file = typeof c.configPath === "string" ? c.configPath : `${env.home}/.openclaw/plugins/nats-eventstore/config.json`;
    let fromFile: unknown;
    try {
      fromFile = env.readJson(file);
    } catch (err) {
      b.drop(`${cp}.configPath`, `its settings file ${file} could not be read (${err instanceof Error ? err.message : String(err)}); defaults assumed`);
    }
    if (isObj(fromFile)) {
      b.carried.push({ from: `${cp}.configPath`, to: `(read ${file})` });
      c = { ...fromFile, ...(c.enabled !== undefined ? { enabled: c.enabled } : {}) };
      cp = file;
    }
  }
  const on = entry.enabled !== false && c.enabled !== false;
  b.set("events.enabled", on, `${p}.enabled`);
  eventStoreKeys(b, { ...c, enabled: undefined }, cp);
  for (const k of ["includeHooks", "excludeHooks"]) if (c[k] !== undefined) b.set(`events.${k}`, c[k], `${cp}.${k}`);
  for (const [k, why] of Object.entries(EVENT_TIMEOUTS)) if (c[k] !== undefined) b.drop(`${cp}.${k}`, why);
  unknownKeys(b, c, cp, ["enabled", "configPath", "natsUrl", "streamName", "subjectPrefix", "retention", "includeHooks", "excludeHooks", ...Object.keys(EVENT_TIMEOUTS)]);
}

function agentRelay(b: Builder, entry: Obj): void {
  const cp = 'plugins.entries["openclaw-agent-relay"].config';
  const c = isObj(entry.config) ? entry.config : {};
  if (typeof c.authToken === "string") {
    if (c.authToken.length >= 16) b.set("relay.authToken", c.authToken, `${cp}.authToken`);
    else b.drop(`${cp}.authToken`, "shorter than the 16 characters this plugin requires: set a new relay.authToken (POST /notify stays off until then)");
  }
  if (c.port !== undefined) b.drop(`${cp}.port`, "POST /notify is now served on the gateway's own port (relay.path, default /notify): point callers at the gateway's URL");
  for (const k of ["gatewayPort", "gatewayToken"]) if (c[k] !== undefined) b.drop(`${cp}.${k}`, "not needed: the relay runs inside the gateway (no WebSocket, no copy of the gateway token)");
  if (c.allowedTargets !== undefined) {
    b.set("relay.allowedTargets", c.allowedTargets, `${cp}.allowedTargets`);
    const targets = isObj(c.allowedTargets) ? c.allowedTargets : {};
    if (!("*" in targets)) b.drop(`${cp}.allowedTargets (callers without an entry)`, 'were allowed everything by openclaw-agent-relay and are refused here; add "*": ["*"] to relay.allowedTargets to keep that');
  }
  if (c.targetAliases !== undefined) b.drop(`${cp}.targetAliases`, "no aliases: notify_agent takes the full sessionKey");
  if (c.autoSign !== undefined) b.drop(`${cp}.autoSign`, "messages from another agent are always signed [from <caller>]");
  if (c.defaultTimezone !== undefined) b.drop(`${cp}.defaultTimezone`, "no set_reminder tool here: use OpenClaw cron (one-shot jobs) for reminders");
  unknownKeys(b, c, cp, ["authToken", "port", "gatewayPort", "gatewayToken", "allowedTargets", "targetAliases", "autoSign", "defaultTimezone"]);
}

function coreEventStore(b: Builder, c: Obj, prefix: string): void {
  eventStoreKeys(b, c, prefix);
  if (c.enabled === undefined) b.set("events.enabled", false, `${prefix}.enabled (default false)`);
  if (isObj(c.agents)) {
    for (const [id, a] of Object.entries(c.agents)) {
      if (!isObj(a)) continue;
      const ap = `${prefix}.agents.${id}`;
      const url = a.natsUrl ?? a.url;
      if (url !== undefined) b.url(url, `${ap}.${a.natsUrl !== undefined ? "natsUrl" : "url"}`, `events.agents.${id}.url`, `events.agents.${id}.credentials`);
      copyKeys(b, a, ap, { streamName: `events.agents.${id}.streamName`, subjectPrefix: `events.agents.${id}.subjectPrefix` });
      unknownKeys(b, a, ap, ["natsUrl", "url", "streamName", "subjectPrefix"]);
    }
  }
  unknownKeys(b, c, prefix, ["enabled", "natsUrl", "url", "streamName", "subjectPrefix", "retention", "agents"]);
}

/** The plan for one OpenClaw config (the active one, or an old copy given with --from). */
export function planImport(old: Obj, env: ImportEnv): ImportPlan {
  const b = new Builder();
  const entries = isObj(old.plugins) && isObj(old.plugins.entries) ? old.plugins.entries : {};
  const plugins: string[] = [];
  const coreBlocks: ImportPlan["coreBlocks"] = [];
  if (isObj(entries["nats-wake"])) (plugins.push("nats-wake"), natsWake(b, entries["nats-wake"]));
  if (isObj(entries["nats-eventstore"])) (plugins.push("nats-eventstore"), natsEventstore(b, entries["nats-eventstore"], env));
  if (isObj(entries["openclaw-agent-relay"])) (plugins.push("openclaw-agent-relay"), agentRelay(b, entries["openclaw-agent-relay"]));
  const gw = isObj(old.gateway) ? old.gateway : {};
  if (isObj(gw.eventStore)) (coreBlocks.push("gateway.eventStore"), coreEventStore(b, gw.eventStore, "gateway.eventStore"));
  if (isObj(old.eventStore)) (coreBlocks.push("eventStore"), coreEventStore(b, old.eventStore, "eventStore"));
  const events = isObj(b.config.events) ? b.config.events : {};
  return { config: b.config, conversationAccess: events.enabled === true, carried: b.carried, dropped: b.dropped, plugins, coreBlocks };
}

/**
 * Merge the imported config under an existing plugins.entries.nats.config: what the operator
 * already set wins, and every conflict is reported.
 */
export function mergeUnder(existing: Obj, imported: Obj, path = ""): { merged: Obj; conflicts: Dropped[] } {
  const merged: Obj = structuredClone(existing);
  const conflicts: Dropped[] = [];
  for (const [k, v] of Object.entries(imported)) {
    const here = path ? `${path}.${k}` : k;
    if (merged[k] === undefined) merged[k] = v;
    else if (isObj(merged[k]) && isObj(v)) {
      const sub = mergeUnder(merged[k] as Obj, v, here);
      merged[k] = sub.merged;
      conflicts.push(...sub.conflicts);
    } else if (JSON.stringify(merged[k]) !== JSON.stringify(v)) conflicts.push({ from: here, why: "already set in plugins.entries.nats.config; kept that value" });
  }
  return { merged, conflicts };
}
