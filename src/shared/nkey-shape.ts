import { fromPublic, Prefix } from "@nats-io/nkeys";
// Codec is nkeys' own base32 + CRC-16 decoder (typed, no exports map); it turns a checked `U…` key
// into the 32 raw bytes node:crypto needs.
import { Codec } from "@nats-io/nkeys/lib/codec.js";

// NKEY shapes, checked without any key material: below config/ (which validates configured keys) and
// trust/ (which verifies signatures with them).

const enc = new TextEncoder();
const ACCOUNT_NAME = /^([A-Za-z0-9_-]+|\$G)$/;

/** `U` + 55 base32 characters whose prefix byte and CRC-16 check out. */
export function isUserPublicKey(value: string): boolean {
  return userKeyBytes(value) !== undefined;
}

/** An account NKEY (`A…`, 56 characters, CRC-checked). */
export function isAccountPublicKey(value: string): boolean {
  if (!/^A[A-Z2-7]{55}$/.test(value)) return false;
  try {
    fromPublic(value);
    return true;
  } catch {
    return false;
  }
}

/** The 32 raw Ed25519 bytes of a checked user key, or undefined. */
export function userKeyBytes(value: string): Uint8Array | undefined {
  if (!/^U[A-Z2-7]{55}$/.test(value)) return undefined;
  try {
    return Codec.decode(Prefix.User, enc.encode(value));
  } catch {
    return undefined;
  }
}

/** §13.3: an NKEY account (CRC-checked when it has the NKEY shape), a config-file account name, or `$G`. */
export function isSenderAccount(account: string): boolean {
  if (/^A[A-Z2-7]{55}$/.test(account)) return isAccountPublicKey(account);
  return ACCOUNT_NAME.test(account);
}
