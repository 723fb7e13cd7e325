/** Hide user:pass / token in a URL (`nats://u:p@h` → `nats://***@h`) so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/\s]*@/i, "$1***@");
}

/** Replace every known secret that might appear in free text (error messages) with ***. */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text.replace(/([a-z]+:\/\/)[^@/\s]*@/gi, "$1***@");
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}
