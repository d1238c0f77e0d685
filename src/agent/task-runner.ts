/**
 * One runner per task: the only code that changes the task's known status on this host. It
 * provisions the task network, prepares the task (task-prepare.ts: secrets, pulls, volumes,
 * log streams, container creation), starts containers in dependsOn order, watches them (exit
 * codes, health, OOM), and on a stop request or an essential exit stops them in reverse order
 * and reports STOPPED. After an agent restart it adopts the task's existing containers instead
 * of creating new ones.
 *
 * Observation is level-triggered: each pass re-inspects every container; runtime events only
 * wake the runner early, so a missed event costs one poll interval.
 */
import type { DesiredTask, LogTarget, TaskReport, TaskSecretsResult } from "../protocol/agent-protocol.ts";
import type { ContainerState, Runtime } from "../runtime/runtime.ts";
import { LABEL, dockerVolumes } from "./container-config.ts";
import { type Dependency, readiness, stopOrder } from "./container-order.ts";
import type { PullBehavior } from "./images.ts";
import { awslogsTarget } from "./log-shipper.ts";
import type { TaskSnapshot } from "./task-metadata.ts";
import { StartFailure, createContainers, createVolumes, prepareLogStreams, pullImages, resolveSecrets } from "./task-prepare.ts";
import { type TrackedContainer, buildReport, containerFromDefinition } from "./task-report.ts";

export interface TaskNetwork {
  /** For awsvpc: creates (or finds) the task's pause container; returns its id and IP. */
  provision(task: DesiredTask["spec"], existing: ContainerState | undefined): Promise<{ pauseId: string; ipAddress: string }>;
  release(pauseId: string): Promise<void>;
}

export interface RunnerDeps {
  runtime: Runtime;
  agentId: string;
  now(): number;
  bindIp: string;
  pullBehavior: PullBehavior;
  network: TaskNetwork;
  /** Environment Berth adds to a container (metadata endpoint, region, execution env). */
  extraEnv(task: DesiredTask["spec"], containerName: string): Record<string, string>;
  report(report: TaskReport): void;
  /** The task's `secrets` and `repositoryCredentials`, resolved by the server with the execution role. */
  secrets(taskArn: string): Promise<TaskSecretsResult>;
  /** awslogs: make sure the stream exists (throws if the group does not), follow output, forget. */
  logs: {
    prepare(target: LogTarget, taskArn: string): Promise<void>;
    follow(containerId: string, target: LogTarget): void;
    forget(containerId: string): void;
  };
  pollMs: number;
  /** How long stopped containers stay on the host before removal. */
  cleanupMs: number;
  log(message: string, fields?: Record<string, unknown>): void;
}

/** The agent is shutting down: the runner stops watching and leaves the containers alone. */
class Abandoned extends Error {}

export class TaskRunner {
  private desired: DesiredTask;
  private status = "PROVISIONING";
  private readonly containers: TrackedContainer[];
  private readonly times: Partial<Record<"pullStartedAt" | "pullStoppedAt" | "startedAt" | "stoppingAt" | "executionStoppedAt" | "stoppedAt", number>> = {};
  private stopCode?: string;
  private stoppedReason?: string;
  private pauseId?: string;
  private ipAddress?: string;
  private seq = 0;
  private wakeUp: (() => void) | undefined;
  private abandoned = false;
  readonly done: Promise<void>;

  constructor(private readonly deps: RunnerDeps, desired: DesiredTask, existing: readonly ContainerState[] = []) {
    this.desired = desired;
    this.containers = desired.spec.containers.map((c) => containerFromDefinition(c));
    const pause = existing.find((c) => c.labels[LABEL.role] === "pause");
    for (const state of existing) {
      const tracked = this.containers.find((c) => c.name === state.labels[LABEL.containerName]);
      if (tracked && state.labels[LABEL.role] !== "pause") tracked.state = state;
    }
    this.done = this.run(pause, existing.length > 0);
  }

  get containerNames(): string[] {
    return this.containers.map((c) => c.name);
  }

  /** What the metadata endpoint shows about this task now. */
  snapshot(): TaskSnapshot {
    const report = buildReport({ taskArn: this.taskArn, status: this.status, seq: this.seq, times: this.times, containers: this.containers });
    const task = this.desired.spec;
    const snap: TaskSnapshot = {
      spec: task,
      knownStatus: this.status,
      desiredStatus: this.desired.desiredStatus,
      clusterName: task.clusterArn.slice(task.clusterArn.lastIndexOf("/") + 1),
      availabilityZone: task.availabilityZone,
      containers: this.containers.map((c, i) => {
        const r = report.containers[i]!;
        const snapshot: TaskSnapshot["containers"][number] = {
          name: c.name,
          definition: c.definition,
          containerArn: task.containers[i]!.containerArn,
          knownStatus: r.lastStatus,
          health: r.healthStatus,
        };
        if (c.state) snapshot.state = c.state;
        if (c.imageDigest) snapshot.imageDigest = c.imageDigest;
        return snapshot;
      }),
    };
    for (const key of ["pullStartedAt", "pullStoppedAt", "executionStoppedAt"] as const) {
      const v = this.times[key];
      if (v !== undefined) snap[key] = v;
    }
    if (this.ipAddress) snap.ipAddress = this.ipAddress;
    return snap;
  }

  get taskArn(): string {
    return this.desired.spec.taskArn;
  }

  /**
   * The addresses this task's containers reach the metadata endpoint from: the task IP for
   * awsvpc, each container's bridge address otherwise; undefined in host mode, where the
   * containers share the host's addresses and cannot be told apart.
   */
  callerAddresses(): ReadonlySet<string> | undefined {
    const mode = this.desired.spec.networkMode;
    if (mode === "host") return undefined;
    if (mode === "awsvpc") return new Set(this.ipAddress ? [this.ipAddress] : []);
    return new Set(this.containers.flatMap((c) => Object.values(c.state?.networks ?? {}).flatMap((n) => (n.ipAddress ? [n.ipAddress] : []))));
  }

  /** A newer desired state from the server; only a move to STOPPED matters to a runner. */
  update(desired: DesiredTask): void {
    if (this.desired.desiredStatus === "STOPPED") {
      // Stopping already: only the release of a DEACTIVATING hold (targets drained) matters.
      if (this.desired.holdDeactivating && !desired.holdDeactivating) {
        const { holdDeactivating: _held, ...rest } = this.desired;
        this.desired = rest;
        this.wake();
      }
      return;
    }
    this.desired = desired;
    this.wake();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Stops watching without touching the containers (agent shutdown); a new agent adopts them. */
  abandon(): void {
    this.abandoned = true;
    this.wake();
  }

  private get stopRequested(): boolean {
    return this.desired.desiredStatus === "STOPPED";
  }

  private async run(pause: ContainerState | undefined, adopting: boolean): Promise<void> {
    try {
      if (adopting) this.deps.log("adopting task", { task: this.taskArn });
      await this.provision(pause);
      if (!this.stopRequested) await this.prepare();
      if (!this.stopRequested) await this.startContainers();
      if (!this.stopRequested) await this.monitor();
    } catch (error) {
      if (error instanceof Abandoned) return;
      if (error instanceof StartFailure) this.fail(error.stopCode, error.message);
      else this.fail("TaskFailedToStart", `CannotStartContainerError: ${(error as Error).message}`);
    }
    if (this.abandoned) return;
    await this.stopAll();
    setTimeout(() => void this.cleanup(), this.deps.cleanupMs).unref();
  }

  private fail(stopCode: string, reason: string): void {
    if (this.stopCode !== undefined) return;
    this.stopCode = stopCode;
    this.stoppedReason = reason;
    this.deps.log("task stopping", { task: this.taskArn, stopCode, reason });
  }

  private setStatus(status: string): void {
    if (this.status === status) return;
    this.status = status;
    this.emit();
  }

  private emit(): void {
    this.deps.report(
      buildReport({
        taskArn: this.taskArn,
        status: this.status,
        seq: ++this.seq,
        times: this.times,
        containers: this.containers,
        ...(this.stopCode !== undefined ? { stopCode: this.stopCode } : {}),
        ...(this.stoppedReason !== undefined ? { stoppedReason: this.stoppedReason } : {}),
        ...(this.ipAddress !== undefined ? { ipAddress: this.ipAddress } : {}),
      }),
    );
  }

  private sleep(ms: number): Promise<void> {
    if (this.abandoned) return Promise.reject(new Abandoned());
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wakeUp === done) self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async provision(pause: ContainerState | undefined): Promise<void> {
    this.emit();
    if (this.desired.spec.networkMode === "awsvpc" && !this.stopRequested) {
      const net = await this.deps.network.provision(this.desired.spec, pause);
      this.pauseId = net.pauseId;
      this.ipAddress = net.ipAddress;
    }
    this.setStatus("PENDING");
  }

  /** The steps before the first start (task-prepare.ts), with the status and times they move. */
  private async prepare(): Promise<void> {
    const missing = this.containers.filter((c) => !c.state);
    const secrets = await resolveSecrets(this.deps, this.taskArn, missing);
    if (missing.length > 0) {
      this.times.pullStartedAt ??= this.deps.now();
      await pullImages(this.deps, this.containers, missing, secrets);
      this.times.pullStoppedAt ??= this.deps.now();
    }
    this.setStatus("ACTIVATING");
    await createVolumes(this.deps, this.desired.spec);
    const task = this.desired.spec;
    await prepareLogStreams(this.deps, task, missing);
    await createContainers(this.deps, task, missing, secrets, this.pauseId);
    this.emit();
  }

  private async refresh(): Promise<boolean> {
    let changed = false;
    for (const c of this.containers) {
      if (!c.state) continue;
      const next = await this.deps.runtime.inspectContainer(c.state.id);
      if (!next) {
        // Removed behind our back: report it as stopped with no exit code.
        if (!c.gone) changed = true;
        c.gone = true;
        continue;
      }
      if (JSON.stringify(next) !== JSON.stringify(c.state)) changed = true;
      c.state = next;
    }
    return changed;
  }

  private observe = (name: string) => {
    const c = this.containers.find((x) => x.name === name);
    if (!c) return undefined;
    const s = c.state;
    const exited = c.gone || (!!s && !s.running && s.startedAt !== undefined);
    const observed: { started: boolean; exited: boolean; exitCode?: number; health?: "starting" | "healthy" | "unhealthy" } = {
      started: !!s?.startedAt,
      exited,
    };
    if (s?.exitCode !== undefined) observed.exitCode = s.exitCode;
    if (s?.health !== undefined) observed.health = s.health;
    return observed;
  };

  /** An essential container that has exited stops the task. */
  private essentialExit(): boolean {
    const exited = this.containers.find((c) => c.essential && this.observe(c.name)?.exited);
    if (!exited) return false;
    this.fail("EssentialContainerExited", "Essential container in task exited");
    return true;
  }

  /** Ships a started container's output when it logs with awslogs (adopted ones resume). */
  private followLogs(c: TrackedContainer): void {
    const target = awslogsTarget(c.definition, this.desired.spec);
    if (target && c.state?.startedAt !== undefined) this.deps.logs.follow(c.state.id, target);
  }

  private async startContainers(): Promise<void> {
    const began = this.deps.now();
    for (const c of this.containers) this.followLogs(c);
    for (;;) {
      if (this.stopRequested) return;
      if (await this.refresh()) this.emit();
      if (this.essentialExit()) return;
      let waiting = false;
      for (const c of this.containers) {
        if (!c.state || c.state.startedAt !== undefined || c.gone) continue;
        const ready = readiness(c.dependsOn, this.observe);
        if (ready.kind === "never") throw new StartFailure("TaskFailedToStart", `DependencyError: ${ready.reason}`);
        if (ready.kind === "wait") {
          const timeout = c.startTimeoutSec;
          if (timeout !== undefined && this.deps.now() - began > timeout * 1000) {
            throw new StartFailure("TaskFailedToStart", `ContainerRuntimeTimeoutError: Could not transition to started; timed out after waiting ${timeout}s for dependencies of container ${c.name}`);
          }
          waiting = true;
          continue;
        }
        try {
          await this.deps.runtime.startContainer(c.state.id);
        } catch (error) {
          throw new StartFailure("TaskFailedToStart", `CannotStartContainerError: ${(error as Error).message}`);
        }
        c.state = (await this.deps.runtime.inspectContainer(c.state.id)) ?? c.state;
        this.followLogs(c);
        this.emit();
      }
      if (!waiting && this.containers.every((c) => c.gone || c.state?.startedAt !== undefined)) {
        this.times.startedAt ??= this.deps.now();
        this.setStatus("RUNNING");
        return;
      }
      await this.sleep(Math.min(this.deps.pollMs, 250));
    }
  }

  private async monitor(): Promise<void> {
    for (;;) {
      if (this.stopRequested) return;
      if (await this.refresh()) this.emit();
      if (this.essentialExit()) return;
      await this.sleep(this.deps.pollMs);
    }
  }

  private async stopAll(): Promise<void> {
    if (this.stopRequested && this.stopCode === undefined) {
      this.stopCode = this.desired.stopCode ?? "UserInitiated";
      this.stoppedReason = this.desired.stoppedReason ?? "Task stopped by user";
    }
    this.times.stoppingAt ??= this.deps.now();
    this.setStatus("DEACTIVATING");
    // Load balancer targets drain first: in-flight requests finish before SIGTERM.
    while (this.desired.holdDeactivating && !this.abandoned) await this.sleep(this.deps.pollMs).catch(() => undefined);
    if (this.abandoned) return;
    this.setStatus("STOPPING");
    const byName = new Map(this.containers.map((c) => [c.name, c] as const));
    const order = stopOrder(this.containers.map((c) => c.name), (n) => byName.get(n)?.dependsOn ?? []);
    for (const name of order) {
      const c = byName.get(name)!;
      if (!c.state || c.gone) continue;
      try {
        const current = await this.deps.runtime.inspectContainer(c.state.id);
        if (current?.running) await this.deps.runtime.stopContainer(c.state.id, c.stopTimeoutSec ?? 30);
      } catch (error) {
        this.deps.log("stop failed", { task: this.taskArn, container: name, error: String(error) });
      }
    }
    await this.refresh();
    this.times.executionStoppedAt ??= this.deps.now();
    this.setStatus("DEPROVISIONING");
    if (this.pauseId) await this.deps.network.release(this.pauseId).catch((e: unknown) => this.deps.log("release failed", { error: String(e) }));
    this.times.stoppedAt ??= this.deps.now();
    this.setStatus("STOPPED");
  }

  private async cleanup(): Promise<void> {
    for (const c of this.containers) {
      if (!c.state) continue;
      await this.deps.runtime.removeContainer(c.state.id, { force: true, volumes: true }).catch(() => undefined);
      this.deps.logs.forget(c.state.id);
    }
    for (const v of dockerVolumes(this.desired.spec)) {
      if (!v.shared) await this.deps.runtime.removeVolume(v.name).catch(() => undefined);
    }
  }
}

export type { Dependency };
