import type { TSchema } from "typebox";
import { Value } from "typebox/value";

/**
 * Every problem of `value` against a typebox object schema, one short sentence each:
 * `missing from`, `unknown field prio`, `priority: <hint or schema message>`.
 */
export function schemaProblems(schema: TSchema, value: unknown, hints: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  for (const err of Value.Errors(schema, value)) {
    // `boolean` restates additionalProperties per field; anyOf branches restate the union's own error
    if (err.keyword === "boolean" || err.schemaPath.includes("/anyOf/")) continue;
    const params = err.params as Record<string, unknown>;
    if (err.keyword === "required") problems.push(`missing ${(params.requiredProperties as string[]).join(", ")}`);
    else if (err.keyword === "additionalProperties") problems.push(`unknown field ${(params.additionalProperties as string[]).join(", ")}`);
    else {
      const field = err.instancePath.replace(/^\//, "").replaceAll("/", ".");
      problems.push(`${field}: ${hints[field] ?? err.message}`);
    }
  }
  return [...new Set(problems)];
}
