/**
 * The decoder of one chunked body (RFC 9112 §7.1), fed the bytes as they arrive in any split:
 * it yields the data of each chunk as views of the bytes it was given (no copy), skips chunk
 * extensions and trailers, and says where the body ended so what follows (a pipelined answer,
 * or bytes the target had no business sending) can be told apart.
 */
import { MalformedResponse } from "./response-head.ts";

/** The longest chunk-size or trailer line taken (extensions included). */
const MAX_LINE = 8192;

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
}

export class ChunkedDecoder {
  private state = Chunk.Size;
  private remaining = 0;
  /** The part of a size, CRLF or trailer line that came in an earlier call. */
  private line = "";

  /** Ready for a new body. */
  reset(): void {
    this.state = Chunk.Size;
    this.remaining = 0;
    this.line = "";
  }

  /**
   * Decodes `data`, pushing chunk data onto `out` (views of `data`); returns the offset just past
   * the body's last line when it ends in `data`, else -1. Throws MalformedResponse on a bad size
   * line, a missing CRLF after chunk data, or a line longer than 8 KiB.
   */
  decode(data: Buffer, out: Buffer[]): number {
    let i = 0;
    while (i < data.length) {
      if (this.state === Chunk.Data) {
        const take = Math.min(this.remaining, data.length - i);
        out.push(data.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = Chunk.DataEnd;
        continue;
      }
      const nl = data.indexOf(10, i);
      const piece = data.toString("latin1", i, nl === -1 ? data.length : nl);
      if (this.line.length + piece.length > MAX_LINE) throw new MalformedResponse("chunk line too long");
      this.line += piece;
      if (nl === -1) return -1;
      i = nl + 1;
      const line = this.line.endsWith("\r") ? this.line.slice(0, -1) : this.line;
      this.line = "";
      if (this.state === Chunk.DataEnd) {
        if (line !== "") throw new MalformedResponse("chunk without CRLF");
        this.state = Chunk.Size;
      } else if (this.state === Chunk.Size) {
        const semi = line.indexOf(";");
        const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new MalformedResponse("bad chunk size");
        const size = parseInt(hex, 16);
        if (size === 0) this.state = Chunk.Trailer;
        else {
          this.remaining = size;
          this.state = Chunk.Data;
        }
      } else if (line === "") {
        // The empty line after the trailers: the end of the body.
        return i;
      }
    }
    return -1;
  }
}
