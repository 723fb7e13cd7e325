import { CLI_DESCRIPTOR } from "../src/cli/register.ts";
import { ConfigSchema } from "../src/config/schema.ts";

/** Tools this plugin registers; the host refuses registerTool for names not declared here. */
export const TOOL_NAMES = ["nats", "notify_agent", "event_search"];

const uiHints: Record<string, { label: string; help?: string; placeholder?: string; sensitive?: boolean; advanced?: boolean }> = {
  url: { label: "NATS URL", placeholder: "nats://127.0.0.1:4222", help: "nats://, tls://, ws:// or wss://; several servers comma-separated." },
  subjects: { label: "Wake subjects", help: "Subjects whose messages wake agents (wildcards * and >)." },
  "credentials.token": { label: "Token", sensitive: true },
  "credentials.user": { label: "User" },
  "credentials.pass": { label: "Password", sensitive: true },
  "credentials.nkeySeed": { label: "NKey seed", sensitive: true, advanced: true },
  "credentials.credsFile": { label: "Credentials file (.creds)", sensitive: true, advanced: true },
  "tls.caFile": { label: "TLS CA file", advanced: true },
  "tls.certFile": { label: "TLS client certificate", advanced: true },
  "tls.keyFile": { label: "TLS client key", sensitive: true, advanced: true },
  defaultAgent: { label: "Default agent", help: "Agent woken when a message names neither sessionKey nor to." },
  "inbox.durable": { label: "Durable inbox", help: "Keep wake messages in JetStream while the gateway is down." },
  "events.enabled": { label: "Event store", help: "Record every agent event in JetStream through a local spool." },
  "memory.enabled": { label: "Event memory", help: "Context from earlier sessions at session start, and the event_search tool (default: on with the event store)." },
  "memory.scope": { label: "Memory scope", help: '"peer": only the same user/conversation (default); "agent": everything the agent saw (single-user agents).' },
  "relay.authToken": { label: "Relay token", help: "Bearer token for POST /notify; the endpoint is off without it.", sensitive: true },
  "alertmanager.authToken": { label: "Alertmanager receiver token", help: "Bearer token (or basic-auth password) for POST /alertmanager; the receiver is off without it.", sensitive: true },
  "dashboard.enabled": { label: "Dashboard", help: "Serve /nats-dashboard (gateway auth) and a NATS tab in the Control UI." },
};

export function buildManifest(): Record<string, unknown> {
  return {
    id: "nats",
    name: "NATS",
    description: "Agents on NATS: wake from subjects, the nats tool, a never-lose event store in JetStream, relay to the user's channel.",
    activation: { onStartup: true },
    contracts: { tools: TOOL_NAMES },
    cliCommands: [CLI_DESCRIPTOR],
    uiHints,
    configSchema: JSON.parse(JSON.stringify(ConfigSchema)) as unknown,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  writeFileSync(fileURLToPath(new URL("../openclaw.plugin.json", import.meta.url)), JSON.stringify(buildManifest(), null, 2) + "\n");
}
