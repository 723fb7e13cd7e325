// `npm start`: the embedded default. A local gateway with this plugin, a nats-server it starts itself
// when none answers at NATS_URL, and a demo model so everything works offline.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ScriptedModel, type RecordedRequest } from "../test/harness/model-server.ts";
import { INSTALL_HINT, NatsServerMissingError, answersNats, hostPort, localServerPaths, startLocalServer } from "../src/server/local-server.ts";
import { REPO_ROOT, stagePlugin } from "./stage-plugin.ts";

const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const gatewayPort = Number(process.env.OPENCLAW_GATEWAY_PORT ?? 18789);
const home = process.env.OPENCLAW_NATS_HOME ?? join(REPO_ROOT, ".state");
const children: ChildProcess[] = [];

async function ensureNats(): Promise<void> {
  const { host, port } = hostPort(natsUrl);
  if (await answersNats(host, port)) {
    console.log(`start: using the NATS server at ${natsUrl}`);
    return;
  }
  // The same local server `openclaw nats server start` runs, here in the foreground: it stops with npm start.
  const paths = localServerPaths(join(home, "nats"));
  try {
    const started = await startLocalServer(paths, { host, port, detached: false });
    if (started.child) children.push(started.child);
  } catch (err) {
    if (err instanceof NatsServerMissingError) {
      console.error(`start: nothing answers at ${natsUrl} and ${err.message}.\n  ${INSTALL_HINT};\n  or point NATS_URL at a running server, then run npm start again.`);
    } else console.error(`start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  console.log(`start: started nats-server (JetStream in ${paths.storeDir}) at ${natsUrl}`);
}

/** The demo model answers by quoting what woke it, so a wake is visible end to end. */
function demoReply(req: RecordedRequest): { text: string } {
  const text = JSON.stringify(req.body.messages ?? []);
  const wakes = [...text.matchAll(/\[(URGENT|NORMAL|LOW) from ([^\]]+)\] ([^"\\]*)/g)].map((m) => `${m[1]} from ${m[2]}: ${m[3]}`);
  const reply = wakes.length > 0 ? `Demo model: I was woken by ${wakes.join(" | ")}` : "Demo model: hello! (no NATS message in this turn)";
  console.log(`demo-model ◀ ${reply}`);
  return { text: reply };
}

function gatewayConfig(model: ScriptedModel, pluginDir: string, token: string): object {
  const extra = existsSync(join(home, "nats-config.json")) ? (JSON.parse(readFileSync(join(home, "nats-config.json"), "utf8")) as object) : {};
  return {
    gateway: { mode: "local", bind: "loopback", port: gatewayPort, auth: { mode: "token", token } },
    models: {
      mode: "merge",
      providers: {
        demo: {
          baseUrl: model.baseUrl,
          apiKey: "demo-local",
          api: "openai-completions",
          models: [{ id: "echo", name: "demo echo", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
        },
      },
    },
    agents: { defaults: { model: { primary: "demo/echo" } } },
    plugins: { load: { paths: [pluginDir] }, entries: { nats: { enabled: true, hooks: { allowConversationAccess: true }, config: { url: natsUrl, ...extra } } } },
  };
}

async function main(): Promise<void> {
  mkdirSync(home, { recursive: true });
  await ensureNats();
  const pluginDir = stagePlugin(join(home, "plugin"));
  const model = await ScriptedModel.start();
  model.reply(demoReply);
  const tokenFile = join(home, "gateway-token");
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(16).toString("hex"), { mode: 0o600 });
  const token = readFileSync(tokenFile, "utf8").trim();
  const configPath = join(home, "openclaw.json");
  writeFileSync(configPath, JSON.stringify(gatewayConfig(model, pluginDir, token), null, 2));
  const env = { ...process.env, OPENCLAW_STATE_DIR: join(home, "openclaw"), OPENCLAW_CONFIG_PATH: configPath, OPENCLAW_GATEWAY_TOKEN: token, OPENCLAW_NO_AUTO_UPDATE: "1", OPENCLAW_DISABLE_BONJOUR: "1" };
  const gw = spawn(process.execPath, [join(REPO_ROOT, "node_modules", "openclaw", "openclaw.mjs"), "gateway", "run", "--port", String(gatewayPort), "--bind", "loopback", "--allow-unconfigured"], { env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(gw);
  let announced = false;
  gw.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    process.stdout.write(chunk);
    if (!announced && /nats: subscribed to/.test(chunk)) {
      announced = true;
      console.log(`
────────────────────────────────────────────────────────────
 openclaw-nats is running. Gateway http://127.0.0.1:${gatewayPort} (token in ${join(home, "gateway-token")})
 Wake the main agent now:
   nats pub agent.main.inbox '{"from":"me","body":"hello from NATS","priority":"urgent"}' -s ${natsUrl}
 or, without the nats CLI:
   npm run wake -- "hello from NATS"
 Status:  OPENCLAW_CONFIG_PATH=${join(home, "openclaw.json")} OPENCLAW_STATE_DIR=${join(home, "openclaw")} npx openclaw gateway call nats.status --json
 Plugin settings: put a JSON object in ${join(home, "nats-config.json")} (merged into plugins.entries.nats.config).
────────────────────────────────────────────────────────────`);
    }
  });
  gw.once("exit", (code) => shutdown(code ?? 0));
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => shutdown(0));
  async function shutdown(code: number): Promise<void> {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await model.close();
    process.exit(code);
  }
}

await main();
