/**
 * FakeRuntime: the Runtime port in memory, for fast unit tests of the agent and anything
 * above it. Containers run pretend processes whose run time, exit code, OOM, health and
 * output are chosen per image or command with `behave`; time comes from injected timers so
 * a test can run the clock as fast as it likes. It emits the same events, in the same order,
 * as Docker does, and must pass test/runtime/runtime-conformance.ts. It never touches the
 * host (no processes, sockets or files).
 *
 * This class owns the containers and their lifecycle; images, networks and the choice of
 * behaviour live in fake-images.ts, fake-network.ts and fake-behaviour.ts.
 */
import { createHash } from "node:crypto";
import { type BehaviourMatch, type FakeBehaviour, FakeBehaviours, signalNumber } from "./fake-behaviour.ts";
import { FakeImages } from "./fake-images.ts";
import { FakeNetworks } from "./fake-network.ts";
import {
  RuntimeError,
  RuntimeErrorKind,
  type ContainerSpec,
  type ContainerState,
  type HealthStatus,
  type ImageInfo,
  type LogLineHandler,
  type LogsOptions,
  type NetworkInfo,
  type NetworkOptions,
  type PortBinding,
  type RegistryAuth,
  type Runtime,
  type RuntimeEvent,
  type RuntimeEventType,
  type RuntimeInfo,
  type VolumeOptions,
} from "./runtime.ts";

export type { BehaviourMatch, FakeBehaviour } from "./fake-behaviour.ts";

/** The time source: real timers by default; tests may pass a faster or manual one. */
export interface FakeTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: FakeTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface FakeRuntimeOptions {
  timers?: FakeTimers;
  info?: Partial<RuntimeInfo>;
}

interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
  time: number;
}

interface FakeContainer {
  spec: ContainerSpec;
  state: ContainerState;
  behaviour: FakeBehaviour;
  timers: unknown[];
  logs: LogLine[];
  /** Called on each new log line, and with undefined when the process exits. */
  watchers: Set<(line: LogLine | undefined) => void>;
}

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

export class FakeRuntime implements Runtime {
  /** Every pull attempted, in order, for assertions. */
  readonly pulls: { ref: string; auth?: RegistryAuth }[] = [];
  private readonly timers: FakeTimers;
  private readonly hostInfo: RuntimeInfo;
  private readonly images = new FakeImages();
  private readonly behaviours = new FakeBehaviours();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly networks = new FakeNetworks();
  private readonly volumes = new Map<string, VolumeOptions>();
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();
  private sequence = 0;

  constructor(options: FakeRuntimeOptions = {}) {
    this.timers = options.timers ?? realTimers;
    this.hostInfo = { cpus: 2, memoryMiB: 4096, os: "linux", arch: "x86_64", serverVersion: "fake", hostname: "fake-host", ...options.info };
  }

  /** Makes an image known: present locally, or (`present: false`) only pullable. */
  addImage(ref: string, info: Partial<ImageInfo> = {}, options: { present?: boolean } = {}): void {
    this.images.add(ref, info, options.present ?? true);
  }

  /** Chooses what matching containers do when started; the latest matching call wins. */
  behave(match: BehaviourMatch, behaviour: FakeBehaviour): void {
    this.behaviours.add(match, behaviour);
  }

  /** Appends a line to a running container's output, as if the process wrote it. */
  writeLog(containerId: string, stream: "stdout" | "stderr", line: string): void {
    this.append(this.get(containerId), stream, line);
  }

  async ping(): Promise<void> {}

  async info(): Promise<RuntimeInfo> {
    return { ...this.hostInfo };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.images.inspect(ref);
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    this.pulls.push(auth === undefined ? { ref } : { ref, auth });
    this.images.pull(ref);
  }

  async buildImage(contextTar: Buffer, tag: string): Promise<void> {
    this.images.build(contextTar, tag);
  }

  /** The spec a container was created with, for tests that check what the agent asked for. */
  specOf(id: string): ContainerSpec | undefined {
    return this.containers.get(id)?.spec;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const image = this.images.local(spec.image);
    if (image === undefined) throw new RuntimeError(RuntimeErrorKind.NotFound, `No such image: ${spec.image}`, 404);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(spec.name)) {
      throw new RuntimeError(RuntimeErrorKind.Failed, `Invalid container name (${spec.name})`, 400);
    }
    if ([...this.containers.values()].some((c) => c.state.name === spec.name)) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `Conflict. The container name "/${spec.name}" is already in use`, 409);
    }
    const mode = spec.networkMode;
    if (!mode.startsWith("container:") && !this.networks.has(mode)) {
      throw new RuntimeError(RuntimeErrorKind.NotFound, `network ${mode} not found`, 404);
    }
    for (const m of spec.mounts ?? []) if (m.type === "volume" && !this.volumes.has(m.source)) this.volumes.set(m.source, {});
    const id = sha(`container-${++this.sequence}`);
    const state: ContainerState = {
      id,
      name: spec.name,
      image: spec.image,
      imageId: image.id,
      labels: { ...spec.labels },
      status: "created",
      running: false,
      oomKilled: false,
      createdAt: this.timers.now(),
      ports: [],
      networks: {},
    };
    this.containers.set(id, { spec: structuredClone(spec), state, behaviour: this.behaviours.select(spec), timers: [], logs: [], watchers: new Set() });
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const c = this.get(containerId);
    if (c.state.running) return;
    c.behaviour = this.behaviours.select(c.spec);
    c.state.ports = this.networks.publish(c.spec, this.publishedPorts());
    c.state.networks = this.attach(c);
    Object.assign(c.state, { status: "running", running: true, startedAt: this.timers.now(), pid: 1000 + this.sequence++ });
    delete c.state.exitCode;
    delete c.state.health;
    this.emit("start", c);
    const b = c.behaviour;
    for (const out of b.output ?? []) {
      if (out.atMs === undefined) this.append(c, out.stream, out.line);
      else this.after(c, out.atMs, () => this.append(c, out.stream, out.line));
    }
    if (b.oom === true) this.after(c, b.runMs ?? 0, () => this.exit(c, 137, true));
    else if (b.runMs !== undefined) this.after(c, b.runMs, () => this.exit(c, b.exitCode ?? 0));
    const hc = c.spec.healthCheck;
    if (hc !== undefined) {
      c.state.health = "starting";
      const target = b.health ?? { status: "healthy", afterMs: hc.intervalMs };
      this.after(c, target.afterMs, () => this.setHealth(c, target.status));
    }
  }

  async stopContainer(containerId: string, timeoutSec: number): Promise<void> {
    const c = this.get(containerId);
    if (!c.state.running) return;
    const signal = c.spec.stopSignal ?? this.images.known(c.spec.image)?.stopSignal ?? "SIGTERM";
    if (!this.signal(c, signal)) {
      await new Promise<void>((resolve) => {
        const timer = this.timers.setTimeout(() => {
          c.watchers.delete(onExit);
          if (c.state.running) this.signal(c, "SIGKILL");
          resolve();
        }, timeoutSec * 1000);
        const onExit = (line: LogLine | undefined): void => {
          if (line !== undefined) return;
          this.timers.clearTimeout(timer);
          resolve();
        };
        c.watchers.add(onExit);
      });
    }
    this.emit("stop", c);
  }

  async killContainer(containerId: string, signal: string): Promise<void> {
    const c = this.get(containerId);
    if (!c.state.running) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `Cannot kill container: ${containerId}: Container ${c.state.id} is not running`, 409);
    }
    this.signal(c, signal);
  }

  async removeContainer(containerId: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.find(containerId);
    if (c === undefined) return;
    if (c.state.running) {
      if (options.force !== true) {
        throw new RuntimeError(
          RuntimeErrorKind.Conflict,
          `You cannot remove a running container ${c.state.id}. Stop the container before attempting removal or force remove`,
          409,
        );
      }
      this.signal(c, "SIGKILL");
    }
    this.containers.delete(c.state.id);
    this.emit("destroy", c);
  }

  async inspectContainer(containerId: string): Promise<ContainerState | undefined> {
    const c = this.find(containerId);
    return c === undefined ? undefined : structuredClone(c.state);
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerState[]> {
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.state.labels[k] === v))
      .map((c) => structuredClone(c.state));
  }

  events(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    this.listeners.add(onEvent);
    return new Promise((resolve) => {
      signal.addEventListener("abort", () => {
        this.listeners.delete(onEvent);
        resolve();
      }, { once: true });
    });
  }

  async stats(containerId: string): Promise<Record<string, unknown>> {
    const c = this.get(containerId);
    const running = c.state.running;
    const cpu = { cpu_usage: { total_usage: running ? 1_000_000 : 0 }, system_cpu_usage: this.timers.now() * 1e6, online_cpus: this.hostInfo.cpus };
    return {
      read: new Date(this.timers.now()).toISOString(),
      id: c.state.id,
      name: `/${c.state.name}`,
      pids_stats: running ? { current: 1 } : {},
      cpu_stats: cpu,
      precpu_stats: cpu,
      memory_stats: running ? { usage: 4 * 1024 * 1024, limit: (c.spec.memoryMiB ?? this.hostInfo.memoryMiB) * 1024 * 1024 } : {},
    };
  }

  async createNetwork(name: string, options: NetworkOptions = {}): Promise<string> {
    return this.networks.create(name, options, () => ++this.sequence);
  }

  async removeNetwork(name: string): Promise<void> {
    this.networks.remove(name, () => [...this.containers.values()].some((c) => c.state.running && c.spec.networkMode === name));
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.networks.inspect(name);
  }

  async createVolume(name: string, options: VolumeOptions = {}): Promise<void> {
    if (!this.volumes.has(name)) this.volumes.set(name, structuredClone(options));
  }

  async removeVolume(name: string): Promise<void> {
    if (!this.volumes.has(name)) return;
    const users = [...this.containers.values()].filter((c) => c.spec.mounts?.some((m) => m.type === "volume" && m.source === name));
    if (users.length > 0) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `remove ${name}: volume is in use - [${users.map((c) => c.state.id).join(", ")}]`, 409);
    }
    this.volumes.delete(name);
  }

  async logs(containerId: string, options: LogsOptions, onLine: LogLineHandler): Promise<void> {
    const c = this.get(containerId);
    const since = options.since ?? 0;
    for (const l of c.logs) if (l.time >= since) onLine(l.stream, l.line, l.time);
    if (options.follow !== true || !c.state.running || options.signal?.aborted === true) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        c.watchers.delete(watch);
        options.signal?.removeEventListener("abort", done);
        resolve();
      };
      const watch = (l: LogLine | undefined): void => {
        if (l === undefined) done();
        else onLine(l.stream, l.line, l.time);
      };
      c.watchers.add(watch);
      options.signal?.addEventListener("abort", done, { once: true });
    });
  }

  private find(ref: string): FakeContainer | undefined {
    const exact = this.containers.get(ref);
    if (exact !== undefined) return exact;
    const name = ref.replace(/^\//, "");
    const all = [...this.containers.values()];
    const byName = all.find((c) => c.state.name === name);
    if (byName !== undefined) return byName;
    const byPrefix = all.filter((c) => c.state.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  private get(ref: string): FakeContainer {
    const c = this.find(ref);
    if (c === undefined) throw new RuntimeError(RuntimeErrorKind.NotFound, `No such container: ${ref}`, 404);
    return c;
  }

  /** Every host port binding the engine holds now. */
  private *publishedPorts(): Generator<PortBinding> {
    for (const other of this.containers.values()) yield* other.state.ports;
  }

  private attach(c: FakeContainer): ContainerState["networks"] {
    const mode = c.spec.networkMode;
    if (!mode.startsWith("container:")) return this.networks.attach(mode, c.spec.ipv4Address);
    const target = this.find(mode.slice("container:".length));
    if (target?.state.running !== true) {
      throw new RuntimeError(RuntimeErrorKind.Conflict, `cannot join network of a non running container: ${mode}`, 409);
    }
    return {};
  }

  /** Delivers a signal; returns whether the process died of it. */
  private signal(c: FakeContainer, signal: string): boolean {
    const n = signalNumber(signal);
    this.emit("kill", c);
    const ignored = n !== 9 && (c.behaviour.ignoreSignals ?? []).some((s) => signalNumber(s) === n);
    if (!ignored) this.exit(c, 128 + n);
    return !ignored;
  }

  private exit(c: FakeContainer, exitCode: number, oom = false): void {
    if (!c.state.running) return;
    for (const t of c.timers) this.timers.clearTimeout(t);
    c.timers = [];
    if (oom) this.emit("oom", c);
    Object.assign(c.state, { status: "exited", running: false, exitCode, oomKilled: oom, finishedAt: this.timers.now(), ports: [] });
    delete c.state.pid;
    for (const net of Object.values(c.state.networks)) net.ipAddress = "";
    this.emit("die", c, { exitCode });
    for (const w of [...c.watchers]) w(undefined);
  }

  private setHealth(c: FakeContainer, health: HealthStatus): void {
    if (!c.state.running || c.state.health === health) return;
    c.state.health = health;
    this.emit("health_status", c, { health });
  }

  private after(c: FakeContainer, ms: number, fn: () => void): void {
    c.timers.push(this.timers.setTimeout(fn, ms));
  }

  private append(c: FakeContainer, stream: "stdout" | "stderr", line: string): void {
    const entry = { stream, line, time: this.timers.now() };
    c.logs.push(entry);
    for (const w of [...c.watchers]) w(entry);
  }

  private emit(type: RuntimeEventType, c: FakeContainer, extra: Partial<RuntimeEvent> = {}): void {
    const event: RuntimeEvent = { type, containerId: c.state.id, time: this.timers.now(), labels: { ...c.state.labels }, ...extra };
    for (const listener of [...this.listeners]) listener(event);
  }
}
