// The generated openclaw.json and the environment of a test gateway: what every TestGateway shares
// (the scripted model as its only provider, only the plugins under test, the host's side services off).
import { join, resolve } from "node:path";
import type { ScriptedModel } from "./model-server.ts";
import { REPO_ROOT } from "./openclaw-entry.ts";

export interface GatewayPlugin {
  /** Plugin folder (absolute, or relative to the repo root). */
  path: string;
  id: string;
  /** `plugins.entries.<id>.config`. */
  config?: object;
  /** Needed for llm_input, agent_end, before_prompt_build and friends. Default true. */
  allowConversationAccess?: boolean;
}

export interface TestGatewayOptions {
  model: ScriptedModel;
  plugins?: GatewayPlugin[];
  /** Agent ids; default ["main"]. Each gets session `agent:<id>:main`. */
  agents?: string[];
  /** Deep-merged into the generated config (objects merge, arrays and scalars replace). */
  extraConfig?: object;
  env?: Record<string, string>;
  /** Extra log line to wait for after `[gateway] ready`, e.g. the plugin saying it subscribed. */
  readyLog?: RegExp;
  /** Boot deadline for `[gateway] ready` plus `readyLog` (also per restart); default 240 s (a wait deadline for loaded machines, not a speed check). */
  timeoutMs?: number;
}

export type JsonObject = { [key: string]: unknown };

/** Where a gateway's files live: `dir` holds the config, `home` and `state`. */
export interface GatewayDirs {
  dir: string;
  home: string;
  stateDir: string;
  configPath: string;
}

/** The whole openclaw.json: the generated base with `extraConfig` deep-merged over it. */
export function gatewayConfig(opts: TestGatewayOptions, port: number, token: string, dir: string): JsonObject {
  return deepMerge(buildConfig(opts, port, token, dir), (opts.extraConfig ?? {}) as JsonObject);
}

/** The gateway's environment: the test process's, minus its OPENCLAW_*, plus this gateway's own. */
export function gatewayEnv(opts: TestGatewayOptions, dirs: GatewayDirs, port: number, token: string): NodeJS.ProcessEnv {
  return {
    ...withoutOpenclawEnv(process.env),
    HOME: dirs.home,
    OPENCLAW_STATE_DIR: dirs.stateDir,
    OPENCLAW_CONFIG_PATH: dirs.configPath,
    OPENCLAW_GATEWAY_PORT: String(port),
    OPENCLAW_GATEWAY_TOKEN: token,
    // SKIP_CHANNELS=1 defers channel account start-up (gateway.startAccount, health monitor) and
    // hides `channels` config from startup secret resolution; plugins, services, hooks and gateway
    // methods still load. A test channel plugin that must receive inbound needs env
    // { OPENCLAW_SKIP_CHANNELS: "0" } (read in dist/server-startup-post-attach-*.mjs, not tried).
    // OPENCLAW_ALLOW_MULTI_GATEWAY is not needed: the lock files live under the state dir, so
    // gateways with separate state dirs run side by side (checked with three at once).
    OPENCLAW_SKIP_CHANNELS: "1",
    // The side services the host itself skips for its update-rehearsal gateway
    // (dist/update-rehearsal-paths-*.mjs): none of them is under test here, and each costs boot time.
    OPENCLAW_SKIP_GMAIL_WATCHER: "1",
    OPENCLAW_SKIP_CANVAS_HOST: "1",
    OPENCLAW_SKIP_BROWSER_CONTROL_SERVER: "1",
    OPENCLAW_SKIP_STARTUP_MODEL_PREWARM: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_NO_RESPAWN: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_EXEC_SHELL_SNAPSHOT: "0",
    NO_COLOR: "1",
    ...opts.env,
  };
}

function buildConfig(opts: TestGatewayOptions, port: number, token: string, dir: string): JsonObject {
  const agents = opts.agents ?? ["main"];
  const plugins = opts.plugins ?? [];
  const config: JsonObject = {
    gateway: { mode: "local", bind: "loopback", port, auth: { mode: "token", token } },
    models: {
      mode: "merge",
      providers: {
        fake: {
          baseUrl: opts.model.baseUrl,
          apiKey: "fake-local",
          api: "openai-completions",
          models: [
            {
              id: "echo",
              name: "echo",
              reasoning: false,
              input: ["text"],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128000,
              maxTokens: 4096,
            },
          ],
        },
      },
    },
    // With more than one agent, "explicit" ownership plus a named heartbeat/system agent is what
    // `openclaw doctor` would otherwise migrate the roster to at every boot.
    agents: {
      ...(agents.length > 1 ? { ownership: "explicit" } : {}),
      defaults: {
        model: { primary: "fake/echo" },
        ...(agents.length > 1 ? { heartbeat: { agentId: agents[0] }, systemAgent: { agentId: agents[0] } } : {}),
      },
      entries: Object.fromEntries(agents.map((id) => [id, {}])),
    },
    // Tool Search (the default) hides plugin tools behind tool_search/tool_call; direct schemas let a
    // scripted model call e.g. `nats_send` by name. Restore the product default with
    // extraConfig `{ tools: { toolSearch: { mode: "tools" } } }`.
    tools: { toolSearch: false },
    // The host's automatic session-store maintenance (retention, entry cap, disk budget) has nothing to
    // do in a test gateway's few minutes, and its planning worker races the turns under load: when a
    // session write lands while it plans, the worker exits ("SQLite automatic maintenance inputs changed
    // before commit"), and the agent's database owner is left with a sticky "Agent database cleanup
    // failed", so every later turn of that agent fails (openclaw 2026.9.6; seen in CI in relay-notify,
    // secrets and relay-limits). "warn" keeps the reporting and skips that worker.
    session: { maintenance: { mode: "warn" } },
    // No test reads the host's bundled skills, and loading them (and watching their folders) took ~2–4 s of
    // every gateway's CPU in the profiles (TEST_CPU_PROF); a test that needs one sets skills itself.
    skills: { allowBundled: [], load: { watch: false } },
    logging: { file: join(dir, "openclaw.log") },
  };
  if (plugins.length > 0) {
    config.plugins = {
      // Only the plugins under test, plus memory-core (the memory slot the host fills anyway): the
      // host's twelve other bundled plugins (browser, canvas, voice, providers…) cost ~15 % of every
      // boot's CPU and no test here touches them. A test that needs one sets plugins.allow itself.
      allow: [...plugins.map((p) => p.id), "memory-core"],
      load: { paths: plugins.map((p) => resolve(REPO_ROOT, p.path)) },
      entries: Object.fromEntries(
        plugins.map((p) => [
          p.id,
          { enabled: true, hooks: { allowConversationAccess: p.allowConversationAccess ?? true }, config: p.config ?? {} },
        ]),
      ),
    };
  }
  return config;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepMerge(base: JsonObject, extra: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function withoutOpenclawEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("OPENCLAW_")));
}
