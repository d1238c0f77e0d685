/**
 * Composition root of the control plane: opens the store, loads the identity, wires the
 * services into the API and starts the HTTP listener. `startServer` resolves once the
 * port is bound; `close()` stops accepting, finishes in-flight requests and closes the store.
 */
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createHttpServer } from "../api/http-server.ts";
import { ecsService } from "../api/ecs/ecs-service.ts";
import { createApi } from "../api/router.ts";
import { stsService } from "../api/sts/sts-service.ts";
import { systemClock } from "../core/clock.ts";
import { randomIds } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { type Identity, credentialLookup, loadOrCreateIdentity, principalOf } from "./identity.ts";

export interface ServerConfig {
  dataDir: string;
  port: number;
  host: string;
  logger: Logger;
}

export interface RunningServer {
  url: string;
  port: number;
  identity: Identity;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const identity = loadOrCreateIdentity(config.dataDir);
  const store = new SqliteStore({ path: join(config.dataDir, "berth.db") });
  const deps = { store, clock: systemClock, ids: randomIds };
  const admin = principalOf(identity, identity.admin);
  const handle = createApi({
    services: [ecsService(deps), stsService((arn) => (arn === admin.arn ? admin : undefined))],
    credentials: credentialLookup(identity),
    clock: systemClock,
    ids: randomIds,
    logger: config.logger,
  });
  const http = createHttpServer(handle, config.logger);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
  config.logger.info("berth server listening", { url, dataDir: config.dataDir });
  return {
    url,
    port,
    identity,
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await store.close();
    },
  };
}
