/**
 * The request and response as the API layer sees them: raw bytes in, bytes out. The HTTP
 * listener adapts node:http to these; tests call `handle()` with them directly.
 */
export interface ApiRequest {
  method: string;
  /** Path without the query string, as received. */
  path: string;
  /** Raw query string without "?". */
  query: string;
  /** Lower-case header names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The peer's IP address (aws:SourceIp), when the listener knows it. */
  remoteAddress?: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function header(req: ApiRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
