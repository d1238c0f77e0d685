/**
 * Health checks, one checker per target group × target, only in the data plane's own process.
 * ALB's rules: a newly registered target is `initial` (Elb.RegistrationInProgress, then
 * Elb.InitialHealthChecking) until it passes ONE check (healthy) or fails `unhealthyThreshold`
 * in a row (unhealthy); a healthy target goes unhealthy after `unhealthyThreshold` consecutive
 * failures and back after `healthyThreshold` consecutive successes. HTTP(S) checks GET the path
 * and compare the status with the matcher; TCP checks (NLB's default) only connect. Targets of
 * a group no listener forwards to are `unused`; deregistered ones `draining`, unchecked.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { HealthCheckSpec, LbSnapshot, TargetGroupSpec, TargetHealthReport, TargetHealthState, TargetSpec } from "../protocol/lb-protocol.ts";
import { type HealthView, targetKey } from "./target-pool.ts";

interface Verdict {
  ok: boolean;
  reason?: string;
  description?: string;
}

interface TargetRecord {
  groupArn: string;
  target: TargetSpec;
  check: HealthCheckSpec;
  state: TargetHealthState;
  reason: string | undefined;
  description: string | undefined;
  successes: number;
  failures: number;
  /** Set when it became healthy while another target of its group already was (slow start applies). */
  slowStartFrom: number | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Bumped whenever the record's checks must stop (settings changed, target gone). */
  generation: number;
}

const REASONS = {
  registering: ["Elb.RegistrationInProgress", "Target registration is in progress"],
  initial: ["Elb.InitialHealthChecking", "Initial health checks in progress"],
  unused: ["Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"],
  draining: ["Target.DeregistrationInProgress", "Target deregistration is in progress"],
  disabled: ["Target.HealthCheckDisabled", "Health checks are disabled"],
  failed: ["Target.FailedHealthChecks", "Health checks failed"],
  timeout: ["Target.Timeout", "Request timed out"],
} as const;

export class HealthChecker {
  private records = new Map<string, TargetRecord>();
  private closed = false;

  constructor(private opts: { clock: Clock; logger: Logger; onChange: () => void }) {}

  /** Starts, stops or re-targets checks for a whole snapshot. */
  apply(snapshot: LbSnapshot): void {
    const used = groupsInUse(snapshot);
    const seen = new Set<string>();
    for (const group of snapshot.targetGroups) {
      for (const target of group.targets) {
        const key = `${group.arn}|${targetKey(target)}`;
        seen.add(key);
        this.applyTarget(key, group, target, used.has(group.arn));
      }
    }
    for (const [key, record] of this.records) {
      if (seen.has(key)) continue;
      this.stop(record);
      this.records.delete(key);
    }
  }

  /** The proxies' view: state and healthy-since per group and target. */
  view(): HealthView {
    const view: HealthView = {};
    for (const r of this.records.values()) {
      (view[r.groupArn] ??= {})[targetKey(r.target)] = { state: r.state, ...(r.slowStartFrom !== undefined ? { slowStartFrom: r.slowStartFrom } : {}) };
    }
    return view;
  }

  reports(): TargetHealthReport[] {
    return [...this.records.values()].map((r) => ({
      targetGroupArn: r.groupArn,
      id: r.target.id,
      port: r.target.port,
      state: r.state,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      ...(r.description !== undefined ? { description: r.description } : {}),
    }));
  }

  /** Healthy (or unchecked) and unhealthy target counts of a group. */
  hostCounts(groupArn: string): { healthy: number; unhealthy: number } {
    let [healthy, unhealthy] = [0, 0];
    for (const r of this.records.values()) {
      if (r.groupArn !== groupArn) continue;
      if (r.state === "healthy" || r.state === "unavailable") healthy++;
      else if (r.state === "unhealthy") unhealthy++;
    }
    return { healthy, unhealthy };
  }

  close(): void {
    this.closed = true;
    for (const r of this.records.values()) this.stop(r);
  }

  private applyTarget(key: string, group: TargetGroupSpec, target: TargetSpec, inUse: boolean): void {
    let record = this.records.get(key);
    const settingsChanged = record !== undefined && (JSON.stringify(record.check) !== JSON.stringify(group.healthCheck) || record.target.address !== target.address);
    if (!record) {
      record = { groupArn: group.arn, target, check: group.healthCheck, state: "initial", reason: undefined, description: undefined, successes: 0, failures: 0, slowStartFrom: undefined, timer: undefined, generation: 0 };
      this.records.set(key, record);
      this.enterInitial(record);
    }
    record.target = target;
    record.check = group.healthCheck;
    if (target.state === "draining") return this.settle(record, "draining", REASONS.draining);
    if (!inUse) return this.settle(record, "unused", REASONS.unused);
    if (!group.healthCheck.enabled) return this.settle(record, "unavailable", REASONS.disabled);
    if (record.state === "unused" || record.state === "unavailable" || record.state === "draining") this.enterInitial(record);
    if (settingsChanged) this.stop(record);
    if (record.timer === undefined) this.schedule(record, 0);
  }

  private enterInitial(record: TargetRecord): void {
    this.stop(record);
    record.successes = 0;
    record.failures = 0;
    record.slowStartFrom = undefined;
    this.set(record, "initial", REASONS.registering);
  }

  /** A state without checks. */
  private settle(record: TargetRecord, state: TargetHealthState, [reason, description]: readonly [string, string]): void {
    this.stop(record);
    record.slowStartFrom = undefined;
    this.set(record, state, [reason, description]);
  }

  private stop(record: TargetRecord): void {
    if (record.timer) clearTimeout(record.timer);
    record.timer = undefined;
    record.generation++;
  }

  private schedule(record: TargetRecord, delayMs: number): void {
    const generation = record.generation;
    record.timer = setTimeout(() => {
      if (this.closed || generation !== record.generation) return;
      const started = Date.now();
      if (record.state === "initial") this.set(record, "initial", REASONS.initial);
      void probe(record.target, record.check).then((verdict) => {
        if (this.closed || generation !== record.generation) return;
        this.record(record, verdict);
        // The interval runs from one check's start to the next, whatever the answer took.
        this.schedule(record, Math.max(0, record.check.intervalSeconds * 1000 - (Date.now() - started)));
      });
    }, delayMs);
    record.timer.unref();
  }

  private record(record: TargetRecord, verdict: Verdict): void {
    const check = record.check;
    if (verdict.ok) {
      record.failures = 0;
      record.successes++;
      const threshold = record.state === "initial" ? 1 : check.healthyThreshold;
      if (record.state !== "healthy" && record.successes >= threshold) {
        // ALB puts no target in slow start when no other target of its group is healthy.
        const othersHealthy = [...this.records.values()].some((r) => r !== record && r.groupArn === record.groupArn && r.state === "healthy");
        record.slowStartFrom = othersHealthy ? this.opts.clock.now() : undefined;
        this.set(record, "healthy", [undefined, undefined]);
      }
      return;
    }
    record.successes = 0;
    record.failures++;
    const failure: [string | undefined, string | undefined] = [verdict.reason, verdict.description];
    if (record.state === "unhealthy") this.set(record, "unhealthy", failure);
    else if (record.failures >= check.unhealthyThreshold) {
      record.slowStartFrom = undefined;
      this.set(record, "unhealthy", failure);
    }
  }

  private set(record: TargetRecord, state: TargetHealthState, [reason, description]: readonly [string | undefined, string | undefined]): void {
    if (record.state === state && record.reason === reason && record.description === description) return;
    record.state = state;
    record.reason = reason;
    record.description = description;
    this.opts.onChange();
  }
}

/** Target groups some listener forwards to. */
export function groupsInUse(snapshot: LbSnapshot): Set<string> {
  const used = new Set<string>();
  for (const lb of snapshot.loadBalancers)
    for (const listener of lb.listeners)
      for (const action of [...listener.defaultActions, ...listener.rules.flatMap((r) => r.actions)])
        if (action.type === "forward") for (const g of action.targetGroups) used.add(g.arn);
  return used;
}

/** "200", "200-299", "200,302" → a status predicate. */
export function parseMatcher(matcher: string): (status: number) => boolean {
  const ranges = matcher.split(",").map((part) => {
    const [low = "", high] = part.trim().split("-");
    return [Number(low), Number(high ?? low)] as const;
  });
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}

function probe(target: TargetSpec, check: HealthCheckSpec): Promise<Verdict> {
  const port = check.port === "traffic-port" || check.port === "" ? target.port : Number(check.port);
  const timeoutMs = check.timeoutSeconds * 1000;
  return check.protocol === "TCP" ? tcpProbe(target.address, port, timeoutMs) : httpProbe(target.address, port, check, timeoutMs);
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => finish({ ok: false, reason: REASONS.timeout[0], description: REASONS.timeout[1] }), timeoutMs);
    const finish = (verdict: Verdict): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    socket.once("connect", () => finish({ ok: true }));
    socket.once("error", () => finish({ ok: false, reason: REASONS.failed[0], description: REASONS.failed[1] }));
  });
}

function httpProbe(host: string, port: number, check: HealthCheckSpec, timeoutMs: number): Promise<Verdict> {
  const matches = parseMatcher(check.httpCode || "200");
  const request = check.protocol === "HTTPS" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let done = false;
    const finish = (verdict: Verdict): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(verdict);
    };
    const req = request({
      host,
      port,
      path: check.path || "/",
      method: "GET",
      agent: false,
      rejectUnauthorized: false,
      headers: { Host: `${host}:${port}`, "User-Agent": "ELB-HealthChecker/2.0", Connection: "close" },
    });
    const timer = setTimeout(() => finish({ ok: false, reason: REASONS.timeout[0], description: REASONS.timeout[1] }), timeoutMs);
    req.once("response", (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(matches(status) ? { ok: true } : { ok: false, reason: "Target.ResponseCodeMismatch", description: `Health checks failed with these codes: [${status}]` });
    });
    req.once("error", () => finish({ ok: false, reason: REASONS.failed[0], description: REASONS.failed[1] }));
    req.end();
  });
}
