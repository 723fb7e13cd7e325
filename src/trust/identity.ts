import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createUserSeed, SeedError, signerFromSeed, type SenderSigner } from "./nkey.ts";

/** This gateway's signing identity: the user NKEY its `nats` tool signs Agent-Sender headers with. */
export interface GatewayIdentity {
  signer: SenderSigner;
  /** Where the seed lives (never its content). */
  path: string;
  /** configured: trust.seedFile; generated: created now; state: read from the plugin state dir. */
  source: "configured" | "generated" | "state";
  /** Set when the file can be read by group or others. */
  permissionWarning?: string;
}

export const IDENTITY_FILE = "identity.nk";
/** A user seed as nsc writes it: alone in a `.nk` file, or inside a `.creds` file's seed block. */
const SEED_IN_FILE = /\bSU[A-Z2-7]{56}\b/;

function code(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

function readSeed(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (code(err) === "ENOENT") return undefined;
    throw new SeedError(`cannot read the identity seed file ${path} (${code(err) ?? "error"})`);
  }
  const seed = SEED_IN_FILE.exec(text)?.[0];
  if (!seed) throw new SeedError(`${path} holds no user seed (SU…); put one there (nsc generate nkey --user) or remove the file to have one generated`);
  return seed;
}

/**
 * The seed from trust.seedFile, else from `<stateDir>/identity.nk`. A missing file is created with a fresh
 * seed, mode 0600, exclusively: two gateways starting at once on one shared file end up with the same key.
 */
export function loadIdentity(opts: { seedFile?: string; stateDir: string }): GatewayIdentity {
  const path = opts.seedFile ?? join(opts.stateDir, IDENTITY_FILE);
  let seed = readSeed(path);
  let source: GatewayIdentity["source"] = opts.seedFile ? "configured" : "state";
  if (seed === undefined) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fresh = createUserSeed();
    try {
      writeFileSync(path, `${fresh}\n`, { mode: 0o600, flag: "wx" });
      seed = fresh;
      source = "generated";
    } catch (err) {
      if (code(err) !== "EEXIST") throw new SeedError(`cannot create the identity seed file ${path} (${code(err) ?? "error"})`);
      seed = readSeed(path);
      if (seed === undefined) throw new SeedError(`identity seed file ${path} vanished while it was being read`);
    }
  }
  const signer = signerFromSeed(seed);
  const mode = statSync(path).mode & 0o777;
  const permissionWarning = mode & 0o077 ? `${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${path}` : undefined;
  return { signer, path, source, ...(permissionWarning ? { permissionWarning } : {}) };
}
