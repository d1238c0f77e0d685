/**
 * node:http adapter for the API: reads the body with a size limit, calls handle(), writes
 * the response. Oversized bodies are refused with 413 before any work is done.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Logger } from "../core/logger.ts";
import type { ApiRequest } from "./http-types.ts";
import type { Handle } from "./router.ts";

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

export function createHttpServer(handle: Handle, logger: Logger, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): Server {
  const server = createServer((req, res) => {
    readBody(req, maxBodyBytes).then(
      async (body) => {
        if (body === undefined) {
          res.writeHead(413, { "content-type": "application/x-amz-json-1.1", connection: "close" });
          res.end(JSON.stringify({ __type: "RequestEntityTooLargeException", message: `Request body is larger than ${maxBodyBytes} bytes.` }));
          return;
        }
        const url = req.url ?? "/";
        const q = url.indexOf("?");
        const apiRequest: ApiRequest = {
          method: req.method ?? "GET",
          path: q === -1 ? url : url.slice(0, q),
          query: q === -1 ? "" : url.slice(q + 1),
          headers: req.headers,
          body,
        };
        const response = await handle(apiRequest);
        res.writeHead(response.status, { ...response.headers, "content-length": Buffer.byteLength(response.body) });
        res.end(response.body);
      },
      (error: unknown) => {
        logger.warn("request body read failed", { error: String(error) });
        res.destroy();
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

/** The body, or undefined when it exceeds the limit (the rest is drained, not buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}
