/**
 * The matching primitives of ALB listener rules: wildcard patterns (`*` any run of characters,
 * `?` exactly one) and source-ip CIDR blocks. Pure; compiled once per snapshot.
 */
import { isIPv4, isIPv6 } from "node:net";

export type Matcher = (value: string) => boolean;

/** A wildcard pattern as one anchored RegExp; every other character matches itself. */
export function wildcard(pattern: string, caseInsensitive: boolean): Matcher {
  if (!pattern.includes("*") && !pattern.includes("?")) {
    if (!caseInsensitive) return (v) => v === pattern;
    const lower = pattern.toLowerCase();
    return (v) => v.toLowerCase() === lower;
  }
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : `\\${c}`));
  const re = new RegExp(`^${source}$`, caseInsensitive ? "i" : "");
  return (v) => re.test(v);
}

/** True when any of the patterns matches. */
export function anyOf(patterns: string[], caseInsensitive: boolean): Matcher {
  const matchers = patterns.map((p) => wildcard(p, caseInsensitive));
  return (v) => matchers.some((m) => m(v));
}

/** A CIDR block (IPv4 or IPv6; a bare address is a /32 or /128) as a predicate on addresses. */
export function cidr(block: string): Matcher {
  const [address = "", bitsText] = block.split("/");
  const bytes = addressBytes(address);
  if (!bytes) return () => false;
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  return (value) => {
    const candidate = addressBytes(value);
    if (!candidate || candidate.length !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) {
      const take = Math.max(0, Math.min(8, bits - i * 8));
      if (take === 0) return true;
      const mask = (0xff << (8 - take)) & 0xff;
      if (((candidate[i] ?? 0) & mask) !== ((bytes[i] ?? 0) & mask)) return false;
    }
    return true;
  };
}

/** IPv4 as 4 bytes, IPv6 as 16; an IPv4-mapped IPv6 address ("::ffff:1.2.3.4") as its IPv4 bytes. */
export function addressBytes(address: string): number[] | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return addressBytes(mapped[1]);
  if (isIPv4(address)) return address.split(".").map(Number);
  if (!isIPv6(address)) return undefined;
  let text = address;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4Tail[1].split(".").map(Number);
    text = `${text.slice(0, -v4Tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill("0"), ...tailGroups].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
}
