/**
 * The responses the load balancer itself writes, byte for byte as ALB does: status line,
 * `Server: awselb/2.0`, and its small HTML body with CRLF line ends.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

const REASONS: Record<number, string> = {
  301: "Moved Permanently",
  302: "Found",
  400: "Bad Request",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out",
};

export const reasonPhrase = (status: number): string => REASONS[status] ?? "";

export function errorPage(status: number): string {
  const title = `${status} ${reasonPhrase(status)}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
}

/** An ELB error (or redirect) page on a live HTTP response; the client connection stays open. */
export function sendElbPage(res: ServerResponse, status: number, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorPage(status);
  res.writeHead(status, reasonPhrase(status), {
    Server: "awselb/2.0",
    "Content-Type": "text/html",
    "Content-Length": String(Buffer.byteLength(body)),
    ...extraHeaders,
  });
  res.end(body);
}

/** A fixed-response action's answer. */
export function sendFixed(res: ServerResponse, status: number, contentType: string | undefined, body: string | undefined): void {
  const payload = body ?? "";
  res.writeHead(status, {
    Server: "awselb/2.0",
    "Content-Type": contentType ?? "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}

/** An ELB error page written raw on a socket (the upgrade path), then the socket is closed. */
export function writeRawElbPage(socket: Socket, status: number): void {
  const body = errorPage(status);
  socket.end(
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nServer: awselb/2.0\r\nDate: ${new Date().toUTCString()}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
