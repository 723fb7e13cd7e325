import { Type, type TSchema } from "typebox";
import { Value } from "typebox/value";

/**
 * The NATS micro-service discovery replies (ADR-32 "Service API": PING, INFO, STATS), written from the
 * ADR with the required fields of the `io.nats.micro.v1.*_response` JSON schemas NATS publishes for it.
 * Extra fields are allowed, as those schemas allow them.
 */
const SEMVER = "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$";
const NAME = Type.String({ pattern: "^[a-zA-Z0-9_-]+$", minLength: 1 });
const METADATA = Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]);
const INT = Type.Integer();

const identity = (type: string) => ({
  type: Type.Literal(type),
  name: NAME,
  id: Type.String({ minLength: 1 }),
  version: Type.String({ pattern: SEMVER, minLength: 5 }),
  metadata: Type.Optional(METADATA),
});

export const PingResponse = Type.Object(identity("io.nats.micro.v1.ping_response"));

export const InfoResponse = Type.Object({
  ...identity("io.nats.micro.v1.info_response"),
  description: Type.String(),
  endpoints: Type.Optional(
    Type.Array(
      Type.Object({
        name: NAME,
        subject: Type.String({ minLength: 1 }),
        queue_group: Type.Optional(Type.String()),
        metadata: Type.Optional(METADATA),
      }),
    ),
  ),
});

export const StatsResponse = Type.Object({
  ...identity("io.nats.micro.v1.stats_response"),
  started: Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$" }),
  endpoints: Type.Array(
    Type.Object({
      name: NAME,
      subject: Type.String({ minLength: 1 }),
      queue_group: Type.Optional(Type.String()),
      num_requests: INT,
      num_errors: INT,
      last_error: Type.String(),
      processing_time: INT,
      average_processing_time: INT,
      data: Type.Optional(Type.Object({})),
    }),
  ),
});

/** Schema violations of `value`, one line each ([] when it conforms). */
export function violations(schema: TSchema, value: unknown): string[] {
  return [...Value.Errors(schema, value)].map((e) => `${e.instancePath || "/"}: ${e.message}`);
}
