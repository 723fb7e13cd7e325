import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { createUser, fromSeed, Prefix } from "@nats-io/nkeys";
// nkeys' own base32 + CRC-16 codec (typed, no exports map): seeds and keys to the raw bytes node:crypto needs.
import { Codec } from "@nats-io/nkeys/lib/codec.js";
import { userKeyBytes as rawUserKey } from "../shared/nkey-shape.ts";
// Ed25519 runs in node:crypto: ~0.3 ms per verify on the dev VM against ~5 ms for nkeys' pure-JS
// tweetnacl, which matters when a stranger floods a subject with signed junk. The key-shape checks
// live in shared/nkey-shape.ts (config validation needs them too); re-exported for trust's callers.
export { isAccountPublicKey, isUserPublicKey } from "../shared/nkey-shape.ts";

const enc = new TextEncoder();

/** Few distinct keys verify here (configured callers, peers); keep their KeyObjects. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 1024;

function publicKeyObject(publicKey: string): KeyObject | undefined {
  const cached = keyCache.get(publicKey);
  if (cached) return cached;
  const raw = rawUserKey(publicKey);
  if (!raw) return undefined;
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(publicKey, key);
  return key;
}

/** Ed25519 verification of `sig` over `input` by the user NKEY `publicKey`. False for any malformed part. */
export function verifySignature(publicKey: string, input: Uint8Array, sig: Uint8Array): boolean {
  const key = publicKeyObject(publicKey);
  if (!key || sig.length !== 64) return false;
  return edVerify(null, input, key, sig);
}

/** Signs as one user NKEY. The seed stays inside; only the public key is exposed. */
export interface SenderSigner {
  readonly publicKey: string;
  sign(input: Uint8Array): Uint8Array;
}

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SeedError";
  }
}

/**
 * A signer from a user seed (`SU…`). The error never repeats the seed. nkeys checks the seed's
 * encoding and derives the public key; the signature itself is node:crypto Ed25519 over the same
 * 32-byte seed (byte-identical to nkeys' sign, checked by the known-answer vectors).
 */
export function signerFromSeed(seed: string): SenderSigner {
  const text = seed.trim();
  if (!/^SU[A-Z2-7]+$/.test(text)) throw new SeedError("not a user seed (expected SU… in NATS base32)");
  let publicKey: string;
  let raw: Uint8Array;
  try {
    const kp = fromSeed(enc.encode(text));
    publicKey = kp.getPublicKey();
    raw = Codec.decodeSeed(enc.encode(text)).buf;
    kp.clear();
  } catch {
    throw new SeedError("user seed does not decode (bad base32 or checksum)");
  }
  const x = Buffer.from(Codec.decode(Prefix.User, enc.encode(publicKey))).toString("base64url");
  const privateKey = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: Buffer.from(raw).toString("base64url"), x }, format: "jwk" });
  raw.fill(0);
  return { publicKey, sign: (input) => new Uint8Array(edSign(null, input, privateKey)) };
}

/** A fresh user seed (`SU…`), as text. */
export function createUserSeed(): string {
  const kp = createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  kp.clear();
  return seed;
}
