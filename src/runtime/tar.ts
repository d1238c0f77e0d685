/**
 * A minimal ustar writer for image build contexts (Berth builds its helper images from a tar
 * it makes in memory). Regular files and directories only; no links, no long-name extensions
 * beyond ustar's 155-byte prefix.
 */

export interface TarEntry {
  /** Path inside the archive, "/"-separated, no leading "/". A trailing "/" makes a directory. */
  name: string;
  /** File content; ignored for directories. */
  data?: Buffer | string;
  /** Permission bits; default 0o644 for files, 0o755 for directories. */
  mode?: number;
  /** Seconds since the epoch; default 0, so the same input makes the same bytes. */
  mtime?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits then NUL, as ustar readers expect.
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** Splits a path into ustar's name (≤100 bytes) and prefix (≤155 bytes) at a "/". */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(entry: TarEntry, size: number, directory: boolean): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(entry.name);
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode ?? (directory ? 0o755 : 0o644), 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(entry.mtime ?? 0, 12), 136, "ascii");
  h.write("        ", 148, "ascii"); // checksum counts as spaces while summing
  h.write(directory ? "5" : "0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write("root", 265, "ascii");
  h.write("root", 297, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return h;
}

/** The whole archive, ending with the two zero blocks. */
export function createTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const directory = entry.name.endsWith("/");
    const data = directory ? Buffer.alloc(0) : Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? "");
    parts.push(header(entry, data.length, directory), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
