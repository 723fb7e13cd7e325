import type { OpenClawConfigShape } from "./context.ts";

/**
 * Config writes go through the host's own writer (`mutateConfigFile`): it locks the file, validates
 * the whole post-change config (plugin schemas included) before committing, keeps the backup ring,
 * respects `$include` ownership and touches no other key. It rewrites JSON5 as JSON and warns first
 * when that drops comments; that is the host's behaviour for every CLI write.
 */
export type ConfigDraft = Record<string, unknown>;

export async function mutateOpenClawConfig<T>(mutate: (draft: ConfigDraft) => T): Promise<{ path: string; result: T }> {
  const { mutateConfigFile } = await import("openclaw/plugin-sdk/config-mutation");
  let result: T | undefined;
  const done = await mutateConfigFile({
    mutate: (draft: OpenClawConfigShape) => {
      result = mutate(draft as unknown as ConfigDraft);
    },
  });
  return { path: done.path, result: result as T };
}

/** `draft.a.b.c`, creating plain objects on the way. */
export function objectAt(draft: ConfigDraft, path: string[]): ConfigDraft {
  let node = draft;
  for (const key of path) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as ConfigDraft;
  }
  return node;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
