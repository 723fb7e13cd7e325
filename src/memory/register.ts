import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { describeHits, EventSearchParameters, hitDetails, searchRequest } from "./search-tool.ts";
import { MemoryService } from "./service.ts";
import { ftsQuery } from "./projection.ts";

/** The corpus name memory_search shows for results from the event store. */
export const CORPUS = "nats-events";
const CORPUS_PATH = "events/";

/**
 * The memory's seams into the host:
 * - `agent_turn_prepare` notes the next-turn injections the turn carries (left out of the block);
 * - `before_prompt_build` puts the block in front of the first turn of a session (a new session, or
 *   after /new and /reset: the host hands the hook no earlier messages), or every turn with everyTurn;
 * - the `event_search` tool;
 * - a memory corpus supplement, so the host's `memory_search` (corpus "all") finds events too.
 */
export function registerMemory(api: OpenClawPluginApi, memory: MemoryService, log: Logger, firstTurnText: (runId: string | undefined) => string | undefined = () => undefined): void {
  // The host runs this just before before_prompt_build, in the same prompt build, and only this hook sees
  // the next-turn injections it is about to append to the turn (a wake's `[PRIORITY from x] body`):
  // before_prompt_build's prompt is then only the wake turn's own message, so without this the block
  // would show the wake body that the turn carries right below it.
  api.on("agent_turn_prepare", (event, ctx) => {
    const agentId = MemoryService.agentOf(ctx);
    if (!agentId || !memory.settings(agentId).enabled) return;
    // A new session's first wake turn gets its text from the wake's own agent_turn_prepare hook, not as an injection.
    const first = firstTurnText(ctx.runId);
    const queued = event.queuedInjections.map((i) => i.text).filter((t) => typeof t === "string" && t.length > 0);
    memory.noteInjected(ctx.sessionKey, first ? [...queued, first] : queued);
  });

  api.on("before_prompt_build", async (event, ctx) => {
    const agentId = MemoryService.agentOf(ctx);
    if (!agentId) return;
    const s = memory.settings(agentId);
    if (!s.enabled) return;
    const firstTurn = event.messages.length === 0;
    // Every turn: what it carries (prompt and injections) is left out of the block and of event_search during the session.
    const injected = memory.noteTurn(ctx.sessionKey, event.prompt, firstTurn);
    if (!firstTurn && !s.everyTurn) return;
    // The block is built for what opens the session: a wake turn's prompt is only its own fixed message, the
    // words it answers are the injections, so they lead the query.
    const opening = [...injected, event.prompt ?? ""].filter((t) => t.length > 0).join("\n");
    const block = await memory.context({ agentId, sessionKey: ctx.sessionKey, prompt: opening || undefined });
    return block ? { prependContext: block } : undefined;
  });

  api.registerTool(
    (ctx) => ({
      name: "event_search",
      label: "Event search",
      description:
        "Search this agent's recorded history (earlier conversations, imported notes) by words, ranked best match first. Use it to recall what a user said or decided before, or what happened in a time range (since/until).",
      parameters: EventSearchParameters,
      execute: async (_toolCallId: string, params: unknown) => {
        const agentId = MemoryService.agentOf(ctx) ?? "unknown";
        const s = memory.settings(agentId);
        if (!s.enabled || !s.search.enabled) return text("event_search is off for this agent (memory.enabled / memory.search.enabled).", { ok: false });
        const req = searchRequest(params, s.search.maxResults, Date.now());
        if (!req.ok) {
          log.warn(`memory: event_search by ${agentId}: ${req.error}`);
          return text(`Error: ${req.error}`, { ok: false, error: req.error });
        }
        try {
          const hits = await memory.search({ agentId, sessionKey: ctx.sessionKey, ...req.call });
          const query = typeof (params as { query?: unknown }).query === "string" ? String((params as { query: string }).query) : "";
          return text(describeHits(query, hits), { ok: true, scope: s.scope, hits: hitDetails(hits) });
        } catch (err) {
          const error = errorMessage(err);
          log.warn(`memory: event_search by ${agentId} failed: ${error}`);
          return text(`Error: event_search failed: ${error}`, { ok: false, error });
        }
      },
    }),
    { name: "event_search" },
  );

  api.registerMemoryCorpusSupplement({
    search: async ({ query, maxResults, agentId, agentSessionKey }) => {
      const agent = agentId ?? MemoryService.agentOf({ sessionKey: agentSessionKey });
      if (!agent) return [];
      const s = memory.settings(agent);
      const match = ftsQuery(query);
      if (!s.enabled || !s.search.corpus || !match) return [];
      const hits = await memory.search({ agentId: agent, sessionKey: agentSessionKey, match, text: query, limit: Math.min(maxResults ?? s.search.maxResults, s.search.maxResults) });
      return hits.map((h) => ({
        corpus: CORPUS,
        path: `${CORPUS_PATH}${h.row.id}`,
        id: h.row.id,
        title: `${h.row.type} ${new Date(h.row.ts).toISOString()}`,
        kind: h.row.type,
        // memory_search merges corpora by score; BM25 has no upper bound, so map it into 0..1.
        score: h.score / (1 + h.score),
        snippet: h.snippet,
        source: "openclaw-nats",
        sourceType: "event",
        updatedAt: new Date(h.row.ts).toISOString(),
      }));
    },
    get: async ({ lookup, agentId, agentSessionKey }) => {
      if (!lookup.startsWith(CORPUS_PATH)) return null;
      const agent = agentId ?? MemoryService.agentOf({ sessionKey: agentSessionKey });
      if (!agent || !memory.settings(agent).enabled) return null;
      const row = await memory.get({ agentId: agent, sessionKey: agentSessionKey, id: lookup.slice(CORPUS_PATH.length) });
      if (!row) return null;
      return { corpus: CORPUS, path: lookup, id: row.id, kind: row.type, content: row.text, fromLine: 1, lineCount: row.text.split("\n").length, updatedAt: new Date(row.ts).toISOString() };
    },
  });

  api.registerGatewayMethod("nats.memory.status", ({ respond }) => respond(true, memory.status()), { scope: "operator.read" });
}

function text(message: string, details: Record<string, unknown>) {
  return { content: [{ type: "text" as const, text: message }], details };
}
