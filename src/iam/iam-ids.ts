/**
 * IAM's identifiers and secrets, from the system's CSPRNG: unique ids (AIDA… users, AROA…
 * roles, ANPA… policies), access key ids (AKIA… long-term, ASIA… temporary), 40-character
 * secret keys and session tokens.
 */
import { randomBytes } from "node:crypto";

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomFrom(alphabet: string, length: number): string {
  // Both alphabets have a power-of-two size, so the modulo is unbiased.
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join("");
}

export type UniqueIdPrefix = "AIDA" | "AROA" | "ANPA";

export const uniqueId = (prefix: UniqueIdPrefix): string => `${prefix}${randomFrom(ID_ALPHABET, 17)}`;
export const accessKeyId = (temporary: boolean): string => `${temporary ? "ASIA" : "AKIA"}${randomFrom(ID_ALPHABET, 16)}`;
export const secretAccessKey = (): string => randomFrom(SECRET_ALPHABET, 40);
export const sessionToken = (): string => `IQoJb3JpZ2luX2Vj${randomBytes(192).toString("base64")}`;
