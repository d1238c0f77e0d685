/**
 * Lets the AWS SDKs inside a task reach Berth's API through the metadata address
 * (AWS_ENDPOINT_URL_* = http://169.254.170.2): a signed request is passed on to the server
 * byte for byte, Host header included, since the SigV4 signature covers it. It decides
 * nothing: the server verifies and authorizes the caller as for any other client.
 */
import { request } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";

export function apiForwarder(apiUrl: string): (req: IncomingMessage, res: ServerResponse) => void {
  const target = new URL(apiUrl);
  return (req, res) => {
    const upstream = request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Berth's API is not reachable from this host's agent." }));
    });
    req.pipe(upstream);
  };
}
