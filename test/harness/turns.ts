import type { RecordedRequest } from "./model-server.ts";

/**
 * What this turn added: the user messages after the last assistant/tool message, joined (the host puts
 * the prompt, then its own context blocks, as separate user messages; earlier turns are history).
 */
export function turnText(req: RecordedRequest): string {
  const messages = req.body.messages ?? [];
  const out: string[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const msg = messages[i]!;
    if (msg.role === "system" || msg.role === "developer") continue;
    if (msg.role !== "user") break;
    if (isHostContext(msg.content)) continue;
    const content = msg.content;
    if (typeof content === "string") out.unshift(content);
    else if (Array.isArray(content)) {
      out.unshift(
        content
          .map((part) => (typeof part === "string" ? part : part && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : ""))
          .join("\n"),
      );
    }
  }
  return out.join("\n").replace(HOST_CONTEXT, "");
}

/**
 * The host's own context block (active subagents, exec sessions …), sent as a user message at the end of
 * every request; it quotes the running turn's message (`task_json`), so it is not part of what the turn added.
 */
const HOST_CONTEXT = /<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>[\s\S]*?<<<END_OPENCLAW_INTERNAL_CONTEXT>>>/g;

function isHostContext(content: unknown): boolean {
  const text = typeof content === "string" ? content : JSON.stringify(content ?? "");
  return text.trimStart().startsWith("<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>") || text.includes('"<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>');
}

/** The request follows a tool result (a turn's second model call), the host's context block aside. */
export function followsToolResult(req: RecordedRequest): string | undefined {
  const messages = req.body.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const msg = messages[i]!;
    if (msg.role === "user" && isHostContext(msg.content)) continue;
    if (msg.role !== "tool") return undefined;
    return typeof msg.content === "string" ? msg.content : JSON.stringify(msg.content);
  }
  return undefined;
}

/**
 * Where each marker first reached the model: per marker, the request whose own turn carried it (not as
 * history), and how often it was carried in a turn (1 = seen once).
 */
export function markerTurns(requests: RecordedRequest[], markers: string[]): { firstTurn: Map<string, number>; timesSeen: Map<string, number>; turns: Set<number> } {
  const firstTurn = new Map<string, number>();
  const timesSeen = new Map<string, number>();
  const turns = new Set<number>();
  for (const req of requests) {
    const text = turnText(req);
    for (const m of markers) {
      if (!text.includes(m)) continue;
      timesSeen.set(m, (timesSeen.get(m) ?? 0) + 1);
      if (!firstTurn.has(m)) firstTurn.set(m, req.index);
      turns.add(req.index);
    }
  }
  return { firstTurn, timesSeen, turns };
}

/** Markers appear in this order inside the turns' texts (concatenated in request order). */
export function inOrder(requests: RecordedRequest[], markers: string[]): boolean {
  const all = requests.map(turnText).join("\n");
  let at = -1;
  for (const m of markers) {
    const i = all.indexOf(m, at + 1);
    if (i < 0 || i < at) return false;
    at = i;
  }
  return true;
}
