/**
 * The session-start memory block's wrapper. The host hands `before_agent_run` the prompt with every
 * plugin's prependContext in front; the conversation capture strips this plugin's own block so that
 * `turn.user` records what the user said, not what memory added (memory would otherwise feed on itself).
 */
export const MEMORY_BLOCK_TAG = "event-memory";

const LEADING_BLOCK = new RegExp(`^\\s*<${MEMORY_BLOCK_TAG}[ >][\\s\\S]*?</${MEMORY_BLOCK_TAG}>\\s*`);

export function stripMemoryBlock(prompt: string): string {
  return prompt.replace(LEADING_BLOCK, "");
}
