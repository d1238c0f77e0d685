/**
 * Container log reading for DockerRuntime.logs: Docker's json-file log read straight from disk
 * (docker-log-file.ts) when this host can open it, and otherwise the engine's logs endpoint,
 * whose timestamped lines arrive in multiplexed frames (raw for a TTY) and are split here.
 * It only reads: it never writes, rotates or truncates a log, and never changes a container.
 */
import type { Logger } from "../core/logger.ts";
import { type DockerEngineClient, LogDemuxer, expectStreamOk, type EngineRequest } from "./docker-engine-client.ts";
import { type LogFileRead, readJsonLogFile } from "./docker-log-file.ts";
import { engineTimestamp, logTimeParser } from "./docker-mapping.ts";
import { RuntimeError, RuntimeErrorKind, type LogLineHandler, type LogsOptions } from "./runtime.ts";

export interface ContainerLogSource {
  client: DockerEngineClient;
  logger: Logger;
  /** Try the json-file log on disk before the logs endpoint. */
  logFiles: boolean;
  /** Whether the container may still write; a file follower asks when the file has nothing new. */
  running(containerId: string): Promise<boolean>;
}

interface LogInspectJson {
  Config?: { Tty?: boolean };
  LogPath?: string;
  HostConfig?: { LogConfig?: { Type?: string } };
}

/** The Runtime port's `logs`: same contract, read from the file when possible. */
export async function readContainerLogs(
  source: ContainerLogSource,
  containerId: string,
  options: LogsOptions,
  onLine: LogLineHandler,
): Promise<void> {
  const inspected = await source.client.json<LogInspectJson>(
    { method: "GET", path: `/containers/${encodeURIComponent(containerId)}/json` },
    `logs ${containerId}`,
  );
  const tty = inspected.value.Config?.Tty === true;
  const logPath = inspected.value.LogPath;
  if (source.logFiles && logPath && inspected.value.HostConfig?.LogConfig?.Type === "json-file") {
    const read: LogFileRead = { path: logPath, follow: options.follow === true, tty, running: () => source.running(containerId) };
    if (options.since !== undefined) read.since = options.since;
    if (options.signal !== undefined) read.signal = options.signal;
    const fromFile = await readJsonLogFile(read, onLine).catch((err: unknown) => {
      throw new RuntimeError(RuntimeErrorKind.Unavailable, `logs ${containerId}: ${String(err)}`, 0, { cause: err });
    });
    if (fromFile) return;
    source.logger.info("log file not readable here; using the logs endpoint", { containerId, logPath });
  }
  await readLogsEndpoint(source.client, containerId, tty, options, onLine);
}

async function readLogsEndpoint(
  client: DockerEngineClient,
  containerId: string,
  tty: boolean,
  options: LogsOptions,
  onLine: LogLineHandler,
): Promise<void> {
  const req: EngineRequest = {
    method: "GET",
    path: `/containers/${encodeURIComponent(containerId)}/logs`,
    query: {
      stdout: true,
      stderr: true,
      timestamps: true,
      follow: options.follow === true,
      since: options.since === undefined ? undefined : engineTimestamp(options.since),
    },
  };
  if (options.follow === true) req.timeoutMs = 0;
  if (options.signal !== undefined) req.signal = options.signal;
  let res;
  try {
    res = await client.open(req);
  } catch (err) {
    if (options.signal?.aborted === true) return;
    throw err;
  }
  await expectStreamOk(res, `logs ${containerId}`);
  const parseTime = logTimeParser();
  const demux = new LogDemuxer((stream, raw) => {
    // Each line is "<RFC 3339 nano timestamp> <text>"; TTY output ends lines with "\r\n".
    const space = raw.indexOf(" ");
    const timeMs = space > 0 ? parseTime(raw.slice(0, space)) : undefined;
    const text = timeMs === undefined ? raw : raw.slice(space + 1);
    onLine(stream, tty ? text.replace(/\r$/, "") : text, timeMs ?? 0);
  });
  try {
    for await (const chunk of res) {
      if (tty) demux.pushRaw(chunk as Buffer);
      else demux.push(chunk as Buffer);
    }
  } catch (err) {
    if (options.signal?.aborted !== true) {
      throw new RuntimeError(RuntimeErrorKind.Unavailable, `logs ${containerId}: ${String(err)}`, 0, { cause: err });
    }
  }
  demux.end();
}
