/**
 * The ELBv2 control plane and the minimal ACM on their own SQLite file (`<data-dir>/elb.db`,
 * WAL, synchronous=FULL, file mode 0600 because imported private keys are stored in it). Each
 * mutation is one transaction; after it commits, `onChange` subscribers are told, and the data
 * plane re-reads `snapshot()`. The data plane reports health with `applyHealth`; a draining
 * target is removed once reported drained or when its group's deregistration delay has passed
 * (`tick`, called by the server every second). Health reports live in memory: the data plane
 * re-reports after a restart, and until then targets read `initial`.
 *
 * Load balancers and tags are here; target groups and targets are in elb-target-groups.ts,
 * listeners and rules in elb-listeners.ts, certificates in elb-certificates.ts.
 */
import { chmodSync } from "node:fs";
import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import { type IdSource, randomIds } from "../core/ids.ts";
import type { CertificateManager, CertificateQuery, CertificateTag, ImportCertificateCommand } from "../domain/certificates.ts";
import { canonicalHostedZoneId, dnsName, inScope, loadBalancerArn, parseElbArn } from "../domain/lb-arns.ts";
import { defaultLoadBalancerAttributes, deregistrationDelaySeconds, modifyLoadBalancerAttributes } from "../domain/lb-attributes.ts";
import { checkLoadBalancerName, loadBalancerTypeOf, schemeOf } from "../domain/lb-rules.ts";
import type * as lb from "../domain/load-balancing.ts";
import type { LbSnapshot, TargetHealthReport } from "../protocol/lb-protocol.ts";
import { openSqlite } from "../store/sqlite-database.ts";
import * as certs from "./elb-certificates.ts";
import { ElbCatalog } from "./elb-catalog.ts";
import {
  type ElbContext,
  checkTags,
  hex16,
  page,
  requireListener,
  requireLoadBalancer,
  requireRule,
  requireTargetGroup,
  writeTags,
} from "./elb-context.ts";
import { HealthBook } from "./elb-health.ts";
import * as listeners from "./elb-listeners.ts";
import { ELB_MIGRATIONS } from "./elb-schema.ts";
import { buildSnapshot } from "./elb-snapshot.ts";
import * as groups from "./elb-target-groups.ts";

import type { TextSealer } from "../core/sealer.ts";

export interface SqliteElbEngineOptions {
  /** File path (e.g. data-dir/elb.db), or ":memory:" for tests. */
  path: string;
  clock: Clock;
  ids?: IdSource;
  /** The local port a listener binds; the user's port unless the server decides otherwise. */
  bindPortFor?: (listener: { protocol: string; port: number }) => number;
  /** Address the data plane binds listeners on ("0.0.0.0" unless given). */
  bindHost?: string;
  /** Host address of a container instance, for target type instance (undefined: unknown). */
  instanceAddress?: (instanceId: string) => string | undefined;
  /** Encrypts imported private keys at rest (the secrets master key's envelope); plain text without it. */
  keySealer?: TextSealer;
}

/** What the composition root wires between this engine and the data plane (lb/). */
export interface ElbDataPlaneLink {
  snapshot(): LbSnapshot;
  /** `cb` runs after every committed change of configuration or registrations; returns an unsubscribe. */
  onChange(cb: () => void): () => void;
  applyHealth(reports: readonly TargetHealthReport[]): void;
  /** Completes deregistrations whose delay has passed. */
  tick(nowMs: number): void;
}

export class SqliteElbEngine implements lb.ElbEngine, CertificateManager, ElbDataPlaneLink {
  private readonly db: Database.Database;
  private readonly catalog: ElbCatalog;
  private readonly ctx: ElbContext;
  private readonly subscribers = new Set<() => void>();
  private readonly health = new HealthBook();
  private readonly bindHost: string;
  private readonly instanceAddress: (id: string) => string | undefined;

  constructor(options: SqliteElbEngineOptions) {
    const file = openSqlite(options.path, ELB_MIGRATIONS);
    if (options.path !== ":memory:") chmodSync(options.path, 0o600);
    this.db = file.db;
    this.catalog = new ElbCatalog(file.sql, options.keySealer);
    this.bindHost = options.bindHost ?? "0.0.0.0";
    this.instanceAddress = options.instanceAddress ?? (() => undefined);
    this.ctx = {
      catalog: this.catalog,
      clock: options.clock,
      ids: options.ids ?? randomIds,
      write: <T>(fn: () => T, changes = true): T => {
        const result = this.db.transaction(fn)();
        if (changes) this.notify();
        return result;
      },
      bindPortFor: options.bindPortFor ?? ((l) => l.port),
      instanceAddress: this.instanceAddress,
    };
  }

  async close(): Promise<void> {
    this.subscribers.clear();
    this.db.close();
  }

  // --- the data plane link ----------------------------------------------------------------

  snapshot(): LbSnapshot {
    return buildSnapshot(this.catalog, { bindHost: this.bindHost, instanceAddress: this.instanceAddress });
  }

  onChange(cb: () => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  private notify(): void {
    for (const cb of this.subscribers) {
      try {
        cb();
      } catch {
        // A subscriber's failure must not undo or block a committed change; it re-reads next time.
      }
    }
  }

  applyHealth(reports: readonly TargetHealthReport[]): void {
    for (const r of reports) this.health.report(r);
    const drained = reports.filter((r) => r.drained === true);
    if (drained.length === 0) return;
    let removed = false;
    this.db.transaction(() => {
      for (const r of drained) if (this.catalog.removeDrainingTarget(r.targetGroupArn, r.id, r.port)) removed = true;
    })();
    for (const r of drained) this.health.forget(r.targetGroupArn, r.id, r.port);
    if (removed) this.notify();
  }

  tick(nowMs: number): void {
    const due = this.catalog.drainingTargets().filter((t) => {
      const group = this.catalog.targetGroup(t.tgArn);
      const delayMs = group ? deregistrationDelaySeconds(group.attributes) * 1000 : 0;
      return t.deregisteredAt === undefined || t.deregisteredAt + delayMs <= nowMs;
    });
    if (due.length === 0) return;
    this.ctx.write(() => {
      for (const t of due) this.catalog.removeDrainingTarget(t.tgArn, t.id, t.port);
    });
    for (const t of due) this.health.forget(t.tgArn, t.id, t.port);
  }

  // --- load balancers ---------------------------------------------------------------------

  async createLoadBalancer(scope: lb.ElbScope, cmd: lb.CreateLoadBalancerCommand): Promise<lb.LoadBalancer> {
    checkLoadBalancerName(cmd.name);
    const type = loadBalancerTypeOf(cmd.type);
    const scheme = schemeOf(cmd.scheme);
    checkTags([], cmd.tags ?? []);
    if (this.catalog.loadBalancerNamed(scope, cmd.name)) {
      throw new BerthError(ErrorCode.DuplicateLoadBalancerName, `A load balancer with the same name '${cmd.name}' exists, but with different settings`);
    }
    const id = hex16(this.ctx.ids);
    const subnets = [...(cmd.subnets ?? []), ...(cmd.subnetMappings ?? []).flatMap((m) => (m.subnetId !== undefined ? [m.subnetId] : []))];
    const created: lb.LoadBalancer = {
      arn: loadBalancerArn(scope, type, cmd.name, id),
      name: cmd.name,
      type,
      scheme,
      ipAddressType: cmd.ipAddressType ?? "ipv4",
      dnsName: dnsName(cmd.name, id, scope.region, scheme === "internal"),
      canonicalHostedZoneId: canonicalHostedZoneId(scope.region, type),
      createdTime: this.ctx.clock.now(),
      state: "active",
      securityGroups: cmd.securityGroups ?? [],
      availabilityZones: subnets.map((subnetId, i) => ({ zoneName: `${scope.region}${"abcdef"[i % 6]}`, subnetId })),
    };
    this.ctx.write(() => {
      this.catalog.insertLoadBalancer(scope, { lb: created, attributes: defaultLoadBalancerAttributes(type) });
      writeTags(this.ctx, created.arn, cmd.tags);
    });
    // The listener ports bind as soon as listeners exist: it is active from the next Describe.
    return { ...created, state: "provisioning" };
  }

  async describeLoadBalancers(scope: lb.ElbScope, q: lb.PageQuery & { arns?: string[]; names?: string[] }): Promise<lb.Page<lb.LoadBalancer>> {
    const arns = q.arns ?? [];
    const names = q.names ?? [];
    if (arns.length > 0 && names.length > 0) {
      throw new BerthError(ErrorCode.Validation, "Load balancer names and load balancer ARNs cannot be specified at the same time");
    }
    let found: lb.LoadBalancer[];
    if (arns.length > 0) {
      found = arns.map((arn) => (inScope(scope, arn, "loadbalancer") ? this.catalog.loadBalancer(arn)?.lb : undefined)).filter((x) => x !== undefined);
      if (found.length !== arns.length) throw new BerthError(ErrorCode.LoadBalancerNotFound, "One or more load balancers not found");
    } else if (names.length > 0) {
      const missing = names.filter((n) => !this.catalog.loadBalancerNamed(scope, n));
      if (missing.length > 0) throw new BerthError(ErrorCode.LoadBalancerNotFound, `Load balancers '[${missing.join(", ")}]' not found`);
      found = names.map((n) => this.catalog.loadBalancerNamed(scope, n)!.lb);
    } else {
      found = this.catalog.loadBalancers(scope).map((r) => r.lb);
    }
    return page(found, q.marker, q.pageSize);
  }

  async deleteLoadBalancer(scope: lb.ElbScope, arn: string): Promise<void> {
    const row = inScope(scope, arn, "loadbalancer") ? this.catalog.loadBalancer(arn) : undefined;
    if (!row) return; // AWS: deleting a load balancer that does not exist succeeds.
    if (row.attributes["deletion_protection.enabled"] === "true") {
      throw new BerthError(ErrorCode.OperationNotPermitted, `Load balancer '${arn}' cannot be deleted because deletion protection is enabled`);
    }
    this.ctx.write(() => {
      const owned = this.catalog.listenersOf(arn).flatMap((l) => [l.listener.arn, ...this.catalog.rulesOf(l.listener.arn).map((r) => r.arn)]);
      this.catalog.removeTags([arn, ...owned]);
      this.catalog.deleteLoadBalancer(arn);
    });
  }

  async loadBalancerAttributes(scope: lb.ElbScope, arn: string): Promise<Record<string, string>> {
    return requireLoadBalancer(this.ctx, scope, arn).attributes;
  }

  async modifyLoadBalancerAttributes(scope: lb.ElbScope, arn: string, changes: Record<string, string>): Promise<Record<string, string>> {
    const row = requireLoadBalancer(this.ctx, scope, arn);
    const attributes = modifyLoadBalancerAttributes(row.lb.type, row.attributes, changes);
    this.ctx.write(() => this.catalog.updateLoadBalancer({ ...row, attributes }));
    return attributes;
  }

  // --- target groups and targets --------------------------------------------------------

  async createTargetGroup(scope: lb.ElbScope, cmd: lb.CreateTargetGroupCommand): Promise<lb.TargetGroup> {
    return groups.createTargetGroup(this.ctx, scope, cmd);
  }
  async describeTargetGroups(scope: lb.ElbScope, q: lb.PageQuery & { arns?: string[]; names?: string[]; loadBalancerArn?: string }): Promise<lb.Page<lb.TargetGroup>> {
    return groups.describeTargetGroups(this.ctx, scope, q);
  }
  async modifyTargetGroup(scope: lb.ElbScope, arn: string, healthCheck: lb.HealthCheckInput): Promise<lb.TargetGroup> {
    return groups.modifyTargetGroup(this.ctx, scope, arn, healthCheck);
  }
  async deleteTargetGroup(scope: lb.ElbScope, arn: string): Promise<void> {
    groups.deleteTargetGroup(this.ctx, this.health, scope, arn);
  }
  async targetGroupAttributes(scope: lb.ElbScope, arn: string): Promise<Record<string, string>> {
    return groups.targetGroupAttributes(this.ctx, scope, arn);
  }
  async modifyTargetGroupAttributes(scope: lb.ElbScope, arn: string, changes: Record<string, string>): Promise<Record<string, string>> {
    return groups.modifyTargetGroupAttributes(this.ctx, scope, arn, changes);
  }
  async describeTargetGroup(scope: lb.ElbScope, arn: string): Promise<lb.TargetGroupInfo | undefined> {
    return groups.describeTargetGroup(this.ctx, scope, arn);
  }
  async registerTargets(scope: lb.ElbScope, tgArn: string, targets: lb.TargetInput[]): Promise<void> {
    groups.registerTargets(this.ctx, this.health, scope, tgArn, targets);
  }
  async deregisterTargets(scope: lb.ElbScope, tgArn: string, targets: { id: string; port?: number }[]): Promise<void> {
    groups.deregisterTargets(this.ctx, this.health, scope, tgArn, targets);
  }
  async targetHealth(scope: lb.ElbScope, tgArn: string, targets?: { id: string; port?: number }[]): Promise<lb.TargetHealth[]> {
    return groups.targetHealth(this.ctx, this.health, scope, tgArn, targets);
  }

  // --- listeners and rules ----------------------------------------------------------------

  private readonly certificateExists = (scope: lb.ElbScope, arn: string): boolean =>
    certs.certificateInScope(scope, arn) && this.catalog.certificate(arn) !== undefined;

  async createListener(scope: lb.ElbScope, cmd: lb.CreateListenerCommand): Promise<lb.Listener> {
    return listeners.createListener(this.ctx, scope, cmd, this.certificateExists);
  }
  async describeListeners(scope: lb.ElbScope, q: lb.PageQuery & { loadBalancerArn?: string; arns?: string[] }): Promise<lb.Page<lb.Listener>> {
    return listeners.describeListeners(this.ctx, scope, q);
  }
  async modifyListener(scope: lb.ElbScope, arn: string, cmd: lb.ModifyListenerCommand): Promise<lb.Listener> {
    return listeners.modifyListener(this.ctx, scope, arn, cmd, this.certificateExists);
  }
  async deleteListener(scope: lb.ElbScope, arn: string): Promise<void> {
    listeners.deleteListener(this.ctx, scope, arn);
  }
  async listenerCertificates(scope: lb.ElbScope, arn: string): Promise<{ certificateArn: string; isDefault: boolean }[]> {
    return listeners.listenerCertificates(this.ctx, scope, arn);
  }
  async addListenerCertificates(scope: lb.ElbScope, arn: string, certificateArns: string[]): Promise<void> {
    listeners.addListenerCertificates(this.ctx, scope, arn, certificateArns, this.certificateExists);
  }
  async removeListenerCertificates(scope: lb.ElbScope, arn: string, certificateArns: string[]): Promise<void> {
    listeners.removeListenerCertificates(this.ctx, scope, arn, certificateArns);
  }
  async createRule(scope: lb.ElbScope, cmd: lb.CreateRuleCommand): Promise<lb.Rule> {
    return listeners.createRule(this.ctx, scope, cmd);
  }
  async describeRules(scope: lb.ElbScope, q: lb.PageQuery & { listenerArn?: string; arns?: string[] }): Promise<lb.Page<lb.Rule>> {
    return listeners.describeRules(this.ctx, scope, q);
  }
  async modifyRule(scope: lb.ElbScope, arn: string, changes: { conditions?: lb.RuleCondition[]; actions?: lb.Action[] }): Promise<lb.Rule> {
    return listeners.modifyRule(this.ctx, scope, arn, changes);
  }
  async deleteRule(scope: lb.ElbScope, arn: string): Promise<void> {
    listeners.deleteRule(this.ctx, scope, arn);
  }
  async setRulePriorities(scope: lb.ElbScope, priorities: { ruleArn: string; priority: number }[]): Promise<lb.Rule[]> {
    return listeners.setRulePriorities(this.ctx, scope, priorities);
  }

  // --- tags -------------------------------------------------------------------------------

  private requireTaggable(scope: lb.ElbScope, arn: string): void {
    const kind = parseElbArn(arn)?.kind;
    switch (kind) {
      case "loadbalancer":
        requireLoadBalancer(this.ctx, scope, arn);
        return;
      case "targetgroup":
        requireTargetGroup(this.ctx, scope, arn);
        return;
      case "listener":
        requireListener(this.ctx, scope, arn);
        return;
      case "listener-rule":
        requireRule(this.ctx, scope, arn);
        return;
      default:
        throw new BerthError(ErrorCode.Validation, `'${arn}' is not a valid Elastic Load Balancing resource ARN`);
    }
  }

  async addTags(scope: lb.ElbScope, arns: string[], tags: lb.ElbTag[]): Promise<void> {
    for (const arn of arns) {
      this.requireTaggable(scope, arn);
      checkTags(this.catalog.tags(arn), tags);
    }
    this.ctx.write(() => {
      for (const arn of arns) writeTags(this.ctx, arn, tags);
    }, false);
  }

  async removeTags(scope: lb.ElbScope, arns: string[], keys: string[]): Promise<void> {
    for (const arn of arns) this.requireTaggable(scope, arn);
    this.ctx.write(() => {
      for (const arn of arns) for (const key of keys) this.catalog.removeTag(arn, key);
    }, false);
  }

  async describeTags(scope: lb.ElbScope, arns: string[]): Promise<{ arn: string; tags: lb.ElbTag[] }[]> {
    for (const arn of arns) this.requireTaggable(scope, arn);
    return arns.map((arn) => ({ arn, tags: this.catalog.tags(arn) }));
  }

  // --- ACM --------------------------------------------------------------------------------

  async importCertificate(scope: lb.ElbScope, cmd: ImportCertificateCommand): Promise<string> {
    return certs.importCertificate(this.ctx, scope, cmd);
  }
  async describeCertificate(scope: lb.ElbScope, arn: string) {
    return certs.describeCertificate(this.ctx, scope, arn);
  }
  async listCertificates(scope: lb.ElbScope, q: CertificateQuery) {
    return certs.listCertificates(this.ctx, scope, q);
  }
  async deleteCertificate(scope: lb.ElbScope, arn: string): Promise<void> {
    certs.deleteCertificate(this.ctx, scope, arn);
  }
  async getCertificate(scope: lb.ElbScope, arn: string) {
    return certs.getCertificate(this.ctx, scope, arn);
  }
  async addCertificateTags(scope: lb.ElbScope, arn: string, tags: CertificateTag[]): Promise<void> {
    certs.addCertificateTags(this.ctx, scope, arn, tags);
  }
  async removeCertificateTags(scope: lb.ElbScope, arn: string, tags: CertificateTag[]): Promise<void> {
    certs.removeCertificateTags(this.ctx, scope, arn, tags);
  }
  async certificateTags(scope: lb.ElbScope, arn: string): Promise<CertificateTag[]> {
    return certs.certificateTags(this.ctx, scope, arn);
  }
}
