import { headers, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { createUserSeed, signerFromSeed, type SenderSigner } from "../../src/trust/nkey.ts";
import { signSender } from "../../src/trust/sender.ts";

/** A fresh sender key for a test: the seed (goes into a seed file or stays in the test) and its signer. */
export function newSender(): { seed: string; signer: SenderSigner; publicKey: string } {
  const seed = createUserSeed();
  const signer = signerFromSeed(seed);
  return { seed, signer, publicKey: signer.publicKey };
}

/** The bytes of `body` and headers with an Agent-Sender signed over exactly those bytes for `subject`. */
export function signed(signer: SenderSigner, subject: string, body: object | string): { data: Uint8Array; headers: MsgHdrs } {
  const data = new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
  const h = headers();
  h.set("Agent-Sender", signSender({ signer, account: "$G", subject, payload: data }));
  return { data, headers: h };
}

/** A NATS request carrying a signed Agent-Sender, the way an external sender authenticates to the plugin. */
export function signedRequest(nc: NatsConnection, signer: SenderSigner, subject: string, body: object, timeout: number): Promise<Msg> {
  const m = signed(signer, subject, body);
  return nc.request(subject, m.data, { timeout, headers: m.headers });
}
