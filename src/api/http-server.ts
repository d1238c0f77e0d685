/**
 * node:http adapter for the API: reads the body with a size limit, calls handle(), writes
 * the response. Oversized bodies are refused with 413 before any work is done. An optional
 * pre-handler sees each request first (with its body) and may answer it itself, as the
 * remote-agent endpoint does; what it declines goes on to the AWS API.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../core/logger.ts";
import type { ApiRequest } from "./http-types.ts";
import type { Handle } from "./router.ts";

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Answers the request and resolves true, or resolves false (writing nothing) to pass it on. */
export type PreHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;

export function createHttpServer(handle: Handle, logger: Logger, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, preHandler?: PreHandler): Server {
  const server = createServer((req, res) => {
    readBody(req, maxBodyBytes).then(
      async (body) => {
        if (body === undefined) {
          res.writeHead(413, { "content-type": "application/x-amz-json-1.1", connection: "close" });
          res.end(JSON.stringify({ __type: "RequestEntityTooLargeException", message: `Request body is larger than ${maxBodyBytes} bytes.` }));
          return;
        }
        if (preHandler && (await answered(preHandler, req, res, body, logger))) return;
        const url = req.url ?? "/";
        const q = url.indexOf("?");
        const apiRequest: ApiRequest = {
          method: req.method ?? "GET",
          path: q === -1 ? url : url.slice(0, q),
          query: q === -1 ? "" : url.slice(q + 1),
          headers: req.headers,
          body,
          ...(req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress }),
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

/** Runs the pre-handler; one that throws has answered (with a 500, if it had not yet written). */
async function answered(preHandler: PreHandler, req: IncomingMessage, res: ServerResponse, body: Buffer, logger: Logger): Promise<boolean> {
  try {
    return await preHandler(req, res, body);
  } catch (error) {
    logger.error("pre-handler failed", { path: req.url, error: String(error) });
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Internal error." }));
    } else if (!res.writableEnded) res.destroy();
    return true;
  }
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
