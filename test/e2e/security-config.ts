import { readFileSync } from "node:fs";
import JSON5 from "json5";

// The least-privilege configurations of docs/security.md, read from that page itself so the e2e tests run exactly
// what the Security page tells operators to run (a config that drifts from the tests cannot pass).

const README = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");

/** The fenced block of `lang` whose first line contains `marker`. */
export function readmeBlock(lang: "conf" | "json5", marker: string): string {
  for (const m of README.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))) {
    const body = m[1] ?? "";
    if ((body.split("\n")[0] ?? "").includes(marker)) return body;
  }
  throw new Error(`docs/security.md has no \`\`\`${lang} block starting with a line containing ${JSON.stringify(marker)}`);
}

/** A plugin config block of docs/security.md, parsed (JSON5, comments and all). */
export function readmePluginConfig(marker: string): Record<string, unknown> {
  return JSON5.parse(readmeBlock("json5", marker)) as Record<string, unknown>;
}

/**
 * docs/security.md's nats-server authorization block plus one test-only user, `observer`, that can read the
 * DLQ, the event subjects and the JetStream API, and probe the agent protocol. It is how the test looks
 * at what happened; the gateway and the senders never use it.
 */
export function withObserver(conf: string): string {
  const observer = `{
      user: observer, password: $OBSERVER_PASSWORD
      permissions: {
        publish: { allow: ["$JS.API.>", "$SRV.>", "agents.status.>", "agents.prompt.>"] }
        subscribe: { allow: ["_INBOX.observer.>", "openclaw.nats.dlq", "openclaw.nats.dlq.>", "openclaw.events.>", "gwa.events.>", "gwb.events.>", "agents.hb.>"] }
      }
    }
    `;
  const at = conf.indexOf("users = [");
  if (at === -1) throw new Error("docs/security.md's nats-server config has no `users = [` list");
  const insert = at + "users = [".length;
  return `${conf.slice(0, insert)}\n    ${observer}${conf.slice(insert)}`;
}
