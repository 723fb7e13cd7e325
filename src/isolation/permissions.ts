import { fromSeed } from "@nats-io/nkeys";
import type { CredentialsSchema, NatsPluginConfig } from "../config/schema.ts";
import type { Static } from "typebox";
import { agentInboxPrefix } from "../connection/options.ts";
import { eventFilter, subjectsOverlap } from "../shared/subjects.ts";

/**
 * Least-privilege nats-server accounts for per-agent event streams (`events.agents.<id>` with their own
 * stream and credentials): `openclaw nats permissions` prints it, the isolation test runs nats-server
 * with exactly that text.
 *
 * An agent user may: publish its own event subjects; look at its own stream (STREAM.INFO); read it with
 * ordered consumers whose filter is inside its own subjects (CONSUMER.CREATE with the filter in the API
 * subject, then MSG.NEXT, INFO, DELETE of consumers on that stream); fetch single messages from it
 * (STREAM.MSG.GET, DIRECT.GET); receive replies on its own inbox prefix. Nothing else: no other stream,
 * no stream create/update/delete/purge (a stream's subjects decide what it captures, so an agent allowed
 * STREAM.UPDATE could add another agent's subjects to its own stream), no listing, no `$JS.API.>`.
 * The gateway's user is trusted with the whole account: it hosts every agent and creates the streams.
 */
type Credentials = Static<typeof CredentialsSchema>;

export interface AgentGrant {
  agent: string;
  user: string;
  /** `user`/`password`, or an nkey public key. */
  auth: { kind: "password"; env: string } | { kind: "nkey"; publicKey: string };
  stream: string;
  prefix: string;
  inbox: string;
  publish: string[];
  subscribe: string[];
}

export interface PermissionsPlan {
  account: string;
  gateway: { user: string; auth: AgentGrant["auth"] };
  agents: AgentGrant[];
  /** Agents that cannot be isolated as configured, and why (the command exits non-zero when there are any). */
  problems: string[];
  /** Configured agents without their own credentials: they use the gateway's connection. */
  shared: string[];
}

const ENV_SAFE = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");

function authOf(creds: Credentials | undefined, fallbackUser: string, env: string): { user: string; auth: AgentGrant["auth"] } | { problem: string } {
  if (creds?.nkeySeed) {
    try {
      return { user: fallbackUser, auth: { kind: "nkey", publicKey: fromSeed(new TextEncoder().encode(creds.nkeySeed)).getPublicKey() } };
    } catch {
      return { problem: "its nkeySeed is not a valid user seed" };
    }
  }
  if (creds?.token) return { problem: "it uses token auth: a nats-server token is one for the whole server, not per user; give it user/pass or an nkey" };
  if (creds?.credsFile) return { problem: "it uses a .creds file (decentralised JWT auth): put the subjects below into its user JWT with nsc instead of a config file" };
  return { user: creds?.user ?? fallbackUser, auth: { kind: "password", env } };
}

/** The subjects one agent user needs, and nothing more. */
export function agentSubjects(stream: string, prefix: string, agent: string, inbox: string): { publish: string[]; subscribe: string[] } {
  const own = eventFilter(prefix, agent);
  return {
    publish: [
      own,
      // Account-level usage figures (no stream names, no messages): jetstreamManager() checks the API with it.
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.CONSUMER.CREATE.${stream}.*.${own}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.*`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.${own}`,
    ],
    subscribe: [`${inbox}.>`],
  };
}

export function permissionsPlan(cfg: NatsPluginConfig, account = "OPENCLAW"): PermissionsPlan {
  const problems: string[] = [];
  const shared: string[] = [];
  const agents: AgentGrant[] = [];
  const gw = authOf(cfg.credentials, "openclaw", "OPENCLAW_NATS_PASSWORD");
  const gateway = "problem" in gw ? { user: "openclaw", auth: { kind: "password" as const, env: "OPENCLAW_NATS_PASSWORD" } } : gw;
  if ("problem" in gw) problems.push(`the gateway: ${gw.problem}`);
  const streams = new Map<string, string>([[cfg.events.streamName, "the default stream"]]);
  const prefixes: Array<[string, string]> = [[`${cfg.events.subjectPrefix}.>`, "the default stream"]];
  for (const [agent, o] of Object.entries(cfg.events.agents).sort(([a], [b]) => a.localeCompare(b))) {
    if (!o.credentials) {
      shared.push(agent);
      continue;
    }
    const stream = o.streamName ?? cfg.events.streamName;
    const prefix = o.subjectPrefix ?? cfg.events.subjectPrefix;
    const why: string[] = [];
    if (streams.has(stream)) why.push(`its stream "${stream}" is also ${streams.get(stream)}'s (set events.agents.${agent}.streamName)`);
    const clash = prefixes.find(([p]) => subjectsOverlap(p, `${prefix}.>`));
    if (clash) why.push(`its subjects ${prefix}.> overlap ${clash[1]}'s ${clash[0]} (set events.agents.${agent}.subjectPrefix to a prefix of its own)`);
    if (o.url && o.url !== cfg.url) why.push(`it connects to another server (${o.url}); run this command against that server's config`);
    const a = authOf(o.credentials, `openclaw-agent-${agent}`, `OPENCLAW_NATS_PASSWORD_${ENV_SAFE(agent)}`);
    if ("problem" in a) why.push(a.problem);
    if (why.length > 0 || "problem" in a) {
      problems.push(`agent ${agent}: ${why.join("; ")}`);
      continue;
    }
    streams.set(stream, `agent ${agent}`);
    prefixes.push([`${prefix}.>`, `agent ${agent}`]);
    const inbox = agentInboxPrefix(cfg.inboxPrefix, agent);
    agents.push({ agent, user: a.user, auth: a.auth, stream, prefix, inbox, ...agentSubjects(stream, prefix, agent, inbox) });
  }
  return { account, gateway, agents, problems, shared };
}

const q = (s: string): string => JSON.stringify(s);

function authText(u: { user: string; auth: AgentGrant["auth"] }): string {
  return u.auth.kind === "nkey" ? `nkey: ${q(u.auth.publicKey)}` : `user: ${q(u.user)}, password: $${u.auth.env}`;
}

/**
 * The nats-server configuration text. Passwords are not in it: `$OPENCLAW_NATS_PASSWORD…` are
 * nats-server variables, read from the environment when the server starts.
 */
export function permissionsConfig(plan: PermissionsPlan): string {
  const lines = [
    "# nats-server accounts for openclaw-nats (openclaw nats permissions): each agent user reads and writes only its own events.",
    "# Passwords come from the environment when nats-server starts ($OPENCLAW_NATS_PASSWORD…); no secret is printed here.",
    "accounts: {",
    `  ${plan.account}: {`,
    "    jetstream: enabled",
    "    users: [",
    "      # the gateway: hosts every agent and creates the streams (openclaw nats setup)",
    `      { ${authText(plan.gateway)} }`,
  ];
  for (const a of plan.agents) {
    lines.push(
      `      # agent ${a.agent}: stream ${a.stream} (${a.prefix}.${a.agent}.>), replies on ${a.inbox}.>`,
      `      { ${authText(a)}, permissions: {`,
      "          publish: { allow: [",
      ...a.publish.map((s) => `            ${q(s)}`),
      "          ] }",
      "          subscribe: { allow: [",
      ...a.subscribe.map((s) => `            ${q(s)}`),
      "          ] }",
      "      } }",
    );
  }
  lines.push("    ]", "  }", "}");
  for (const s of plan.shared) lines.push(`# agent ${s}: no credentials of its own (events.agents.${s}.credentials), so it uses the gateway's connection and is not isolated`);
  for (const p of plan.problems) lines.push(`# NOT ISOLATED: ${p}`);
  return `${lines.join("\n")}\n`;
}
