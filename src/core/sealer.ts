/**
 * Secrets kept in a column at rest: a `TextSealer` (the server builds one from the secrets
 * master key's envelope) seals a text bound to its row's identity. Stored sealed values carry
 * a prefix, so rows written before sealing (plain text) still read.
 */

export interface TextSealer {
  seal(plaintext: string, identity: string): string;
  open(sealed: string, identity: string): string;
}

const SEALED = "sealed:";

/** What goes into the column: sealed when there is a sealer, else the text itself. */
export function sealText(sealer: TextSealer | undefined, plaintext: string, identity: string): string {
  return sealer ? SEALED + sealer.seal(plaintext, identity) : plaintext;
}

/** The column's plain text; a sealed value without a sealer is an error, never returned as is. */
export function openText(sealer: TextSealer | undefined, stored: string, identity: string): string {
  if (!stored.startsWith(SEALED)) return stored;
  if (!sealer) throw new Error(`the secret of ${identity} is sealed and no master key was given`);
  return sealer.open(stored.slice(SEALED.length), identity);
}
