/**
 * A container's output read straight from Docker's json-file log (`LogPath`), for an engine on
 * this host. Docker's logs endpoint reads the same file, decodes each entry and frames it again
 * for HTTP; under load that costs the daemon about as much CPU as the writers. With four busy
 * writers on a 2-vCPU host, a bare follower of the endpoint saw a p99 delay of about 4 s and a
 * bare reader of the file about 1 s (bench/logs.ts prints the latter as its floor).
 * DockerRuntime.logs (docker-logs.ts) uses the file when it can open it and the endpoint otherwise.
 *
 * The file holds one JSON entry per line: {"log": "text\n", "stream": "stdout", "time": "RFC 3339
 * nano"}. Docker splits a line longer than 16 KiB into entries whose text lacks the newline;
 * those are joined here into one line with the first part's time. A follower waits for the
 * file to change (an inotify watch, with a slow timer behind it). Following ends once the
 * container is not running and the file is read to its end (Docker stops the container only
 * after its output is in the file). A rotated file (a new inode at the path) is read to its end
 * before the new one is opened.
 */
import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { Wake } from "../core/wake.ts";
import { logTimeParser } from "./docker-mapping.ts";
import type { LogLineHandler } from "./runtime.ts";

/** Read (and parsed into lines) in one go: a millisecond or two of the event loop, shared with the API. */
const CHUNK_BYTES = 128 * 1024;
/** How long a quiet follower waits for a change before it reads anyway, and how often it asks whether the container still runs. */
const POLL_MS = 250;
const STATE_EVERY_MS = 500;

export interface LogFileRead {
  path: string;
  follow: boolean;
  /** Only entries at or after this epoch ms. */
  since?: number;
  signal?: AbortSignal;
  /** TTY output: lines end with "\r\n". */
  tty: boolean;
  /** Whether the container may still write (asked when the file has nothing new). */
  running(): Promise<boolean>;
}

interface Entry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

/** Turns the file's bytes into lines: entries split on newlines, partial entries joined per stream. */
export class JsonLogLines {
  private readonly decoder = new StringDecoder("utf8");
  private rest = "";
  private readonly partial = { stdout: { text: "", time: 0 }, stderr: { text: "", time: 0 } };
  private readonly parseTime = logTimeParser();

  constructor(
    private readonly onLine: LogLineHandler,
    private readonly options: { since?: number; tty: boolean },
  ) {}

  push(chunk: Buffer): void {
    const text = this.rest + this.decoder.write(chunk);
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      this.entry(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  /** The output is over: a trailing partial line is a line. */
  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const p = this.partial[stream];
      if (p.text !== "") this.emit(stream, p.text, p.time);
      p.text = "";
    }
  }

  private entry(json: string): void {
    let e: Entry;
    try {
      e = plainEntry(json) ?? (JSON.parse(json) as Entry);
    } catch {
      return; // a torn last line of a file the daemon was killed while writing
    }
    if (typeof e.log !== "string" || typeof e.time !== "string") return;
    const stream = e.stream === "stderr" ? "stderr" : "stdout";
    const time = this.parseTime(e.time) ?? 0;
    const p = this.partial[stream];
    if (p.text === "") p.time = time;
    if (!e.log.endsWith("\n")) {
      p.text += e.log;
      return;
    }
    const line = p.text + e.log.slice(0, -1);
    p.text = "";
    this.emit(stream, line, p.time);
  }

  private emit(stream: "stdout" | "stderr", line: string, time: number): void {
    if (this.options.since !== undefined && time < this.options.since) return;
    this.onLine(stream, this.options.tty && line.endsWith("\r") ? line.slice(0, -1) : line, time);
  }
}

const LOG_OPEN = '{"log":"';
const STREAM_FIELD = '","stream":"';
const TIME_FIELD = '","time":"';

/**
 * An entry in the shape Docker writes it, `{"log":"…","stream":"stdout|stderr","time":"…"}`,
 * read without parsing it as an object: the text is sliced out when it has no escapes but the
 * final `\n`, else JSON.parse reads just the string. Undefined for any other shape (attrs, a
 * torn line), which JSON.parse then reads whole. The text cannot hold an unescaped quote, so
 * the last `","stream":"` ends it.
 */
function plainEntry(json: string): Entry | undefined {
  if (!json.startsWith(LOG_OPEN) || !json.endsWith('"}')) return undefined;
  const streamAt = json.lastIndexOf(STREAM_FIELD);
  if (streamAt < LOG_OPEN.length) return undefined;
  const valueAt = streamAt + STREAM_FIELD.length;
  const stream = json.startsWith("stdout", valueAt) ? "stdout" : json.startsWith("stderr", valueAt) ? "stderr" : undefined;
  if (!stream || !json.startsWith(TIME_FIELD, valueAt + 6)) return undefined;
  const time = json.slice(valueAt + 6 + TIME_FIELD.length, -2);
  if (time.includes('"')) return undefined;
  // Any backslash before the final `\n` (an escaped backslash then "n" too) means escapes.
  const newline = json.endsWith("\\n", streamAt) ? 2 : 0;
  const textEnd = streamAt - newline;
  const escape = json.indexOf("\\", LOG_OPEN.length);
  if (escape !== -1 && escape < textEnd) return { log: JSON.parse(json.slice(LOG_OPEN.length - 1, streamAt + 1)) as string, stream, time };
  return { log: newline ? `${json.slice(LOG_OPEN.length, textEnd)}\n` : json.slice(LOG_OPEN.length, textEnd), stream, time };
}

/** Wakes a follower when its file changes (inotify); a timer covers what a watch can miss. */
class ChangeSignal {
  private watcher: FSWatcher | undefined;
  private readonly changes = new Wake();

  watch(path: string): void {
    this.close();
    try {
      this.watcher = watch(path, { persistent: false }, () => this.changes.signal());
      this.watcher.on("error", () => this.close());
    } catch {
      // No watch (out of inotify watches, a filesystem without them): the timer alone.
    }
  }

  /** Resolves at the next change (at once if one came since the last wait), after `ms`, or on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return this.changes.wait(ms, signal);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * Reads (and with `follow`, follows) a json-file log; resolves when the output is over or the
 * signal aborts, to false without reading anything when this host cannot open the file.
 */
export async function readJsonLogFile(read: LogFileRead, onLine: LogLineHandler): Promise<boolean> {
  let file: FileHandle;
  try {
    file = await open(read.path, "r");
  } catch {
    return false; // not this host's file (a daemon in a VM, another mount namespace) or not ours to read
  }
  const lines = new JsonLogLines(onLine, { ...(read.since !== undefined ? { since: read.since } : {}), tty: read.tty });
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let inode = (await file.stat()).ino;
  let position = 0;
  let checkedAt = 0;
  let stopped = false;
  const changes = new ChangeSignal();
  changes.watch(read.path);
  try {
    while (read.signal?.aborted !== true) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead > 0) {
        position += bytesRead;
        lines.push(buffer.subarray(0, bytesRead));
        continue;
      }
      // At the end of what the file holds now.
      const current = await stat(read.path).catch(() => undefined);
      if (current !== undefined && current.ino !== inode) {
        // Rotated: this file is complete (read to its end just now); go on with the new one.
        await file.close();
        file = await open(read.path, "r");
        changes.watch(read.path);
        inode = (await file.stat()).ino;
        position = 0;
        continue;
      }
      if (current !== undefined && current.size < position) position = 0; // truncated in place
      if (!read.follow || stopped) break;
      if (Date.now() - checkedAt >= STATE_EVERY_MS) {
        checkedAt = Date.now();
        // Not running: one more pass reads what was written before it stopped.
        if (current === undefined || !(await read.running())) stopped = true;
        if (stopped) continue;
      }
      await changes.wait(POLL_MS, read.signal);
    }
  } finally {
    changes.close();
    await file.close();
  }
  if (read.signal?.aborted !== true) lines.end();
  return true;
}
