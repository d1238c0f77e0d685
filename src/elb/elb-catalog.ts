/**
 * Row access for the ELB engine: every SQL statement the engine runs, each with what it reads
 * or writes. No rules here (they are in domain/lb-*.ts and the engine); callers hold the
 * transaction. Rows come back in creation order (rowid).
 */
import { type TextSealer, openText, sealText } from "../core/sealer.ts";
import type Database from "better-sqlite3";
import type { Certificate } from "../domain/certificates.ts";
import type { Action, ElbScope, ElbTag, Listener, LoadBalancer, RuleCondition, TargetGroup } from "../domain/load-balancing.ts";

export type StoredTargetGroup = Omit<TargetGroup, "loadBalancerArns">;

export interface LbRow {
  lb: LoadBalancer;
  attributes: Record<string, string>;
}

export interface TgRow {
  tg: StoredTargetGroup;
  attributes: Record<string, string>;
}

export interface ListenerRow {
  listener: Listener;
  defaultRuleArn: string;
}

export interface RuleRow {
  arn: string;
  listenerArn: string;
  priority: number;
  conditions: RuleCondition[];
  actions: Action[];
}

export interface TargetRow {
  tgArn: string;
  id: string;
  port: number;
  az?: string;
  state: "registered" | "draining";
  deregisteredAt?: number;
}

export type StoredCertificate = Omit<Certificate, "status" | "inUseBy">;

export interface CertificateRow {
  certificate: StoredCertificate;
  certificatePem: string;
  chainPem?: string;
  privateKeyPem: string;
}

type Sql = (text: string) => Database.Statement;
type Row = Record<string, unknown>;

const lbRow = (r: Row): LbRow => ({ lb: JSON.parse(r["body"] as string), attributes: JSON.parse(r["attributes"] as string) });
const tgRow = (r: Row): TgRow => ({ tg: JSON.parse(r["body"] as string), attributes: JSON.parse(r["attributes"] as string) });
const listenerRow = (r: Row): ListenerRow => ({ listener: JSON.parse(r["body"] as string), defaultRuleArn: r["default_rule_arn"] as string });
function ruleRow(r: Row): RuleRow {
  const body = JSON.parse(r["body"] as string) as { conditions: RuleCondition[]; actions: Action[] };
  return { arn: r["arn"] as string, listenerArn: r["listener_arn"] as string, priority: r["priority"] as number, ...body };
}
function targetRow(r: Row): TargetRow {
  return {
    tgArn: r["tg_arn"] as string,
    id: r["id"] as string,
    port: r["port"] as number,
    state: r["state"] as TargetRow["state"],
    ...(r["az"] !== null ? { az: r["az"] as string } : {}),
    ...(r["deregistered_at"] !== null ? { deregisteredAt: r["deregistered_at"] as number } : {}),
  };
}
function certificateRow(r: Row): CertificateRow {
  return {
    certificate: JSON.parse(r["body"] as string),
    certificatePem: r["certificate_pem"] as string,
    privateKeyPem: r["private_key_pem"] as string,
    ...(r["chain_pem"] !== null ? { chainPem: r["chain_pem"] as string } : {}),
  };
}

export class ElbCatalog {
  /** `sealer` seals imported private keys at rest, bound to their certificate ARN. */
  constructor(
    private readonly sql: Sql,
    private readonly sealer?: TextSealer,
  ) {}

  private certificateRow(r: Row): CertificateRow {
    const row = certificateRow(r);
    return { ...row, privateKeyPem: openText(this.sealer, row.privateKeyPem, row.certificate.arn) };
  }

  // --- load balancers ---------------------------------------------------------------------
  loadBalancer(arn: string): LbRow | undefined {
    const r = this.sql("SELECT body, attributes FROM load_balancers WHERE arn = ?").get(arn) as Row | undefined;
    return r && lbRow(r);
  }
  loadBalancerNamed(scope: ElbScope, name: string): LbRow | undefined {
    const r = this.sql("SELECT body, attributes FROM load_balancers WHERE region = ? AND account = ? AND name = ?").get(scope.region, scope.accountId, name) as Row | undefined;
    return r && lbRow(r);
  }
  loadBalancers(scope: ElbScope | undefined): LbRow[] {
    const rows = scope
      ? this.sql("SELECT body, attributes FROM load_balancers WHERE region = ? AND account = ? ORDER BY rowid").all(scope.region, scope.accountId)
      : this.sql("SELECT body, attributes FROM load_balancers ORDER BY rowid").all();
    return (rows as Row[]).map(lbRow);
  }
  /* in: a new load balancer; fails on the (region, account, name) unique key. */
  insertLoadBalancer(scope: ElbScope, row: LbRow): void {
    this.sql("INSERT INTO load_balancers (arn, region, account, name, body, attributes) VALUES (?, ?, ?, ?, ?, ?)").run(
      row.lb.arn, scope.region, scope.accountId, row.lb.name, JSON.stringify(row.lb), JSON.stringify(row.attributes),
    );
  }
  updateLoadBalancer(row: LbRow): void {
    this.sql("UPDATE load_balancers SET body = ?, attributes = ? WHERE arn = ?").run(JSON.stringify(row.lb), JSON.stringify(row.attributes), row.lb.arn);
  }
  /* out: the load balancer, its listeners, rules and forwards (cascade) are gone. */
  deleteLoadBalancer(arn: string): void {
    this.sql("DELETE FROM load_balancers WHERE arn = ?").run(arn);
  }

  // --- target groups ----------------------------------------------------------------------
  targetGroup(arn: string): TgRow | undefined {
    const r = this.sql("SELECT body, attributes FROM target_groups WHERE arn = ?").get(arn) as Row | undefined;
    return r && tgRow(r);
  }
  targetGroupNamed(scope: ElbScope, name: string): TgRow | undefined {
    const r = this.sql("SELECT body, attributes FROM target_groups WHERE region = ? AND account = ? AND name = ?").get(scope.region, scope.accountId, name) as Row | undefined;
    return r && tgRow(r);
  }
  targetGroups(scope: ElbScope | undefined): TgRow[] {
    const rows = scope
      ? this.sql("SELECT body, attributes FROM target_groups WHERE region = ? AND account = ? ORDER BY rowid").all(scope.region, scope.accountId)
      : this.sql("SELECT body, attributes FROM target_groups ORDER BY rowid").all();
    return (rows as Row[]).map(tgRow);
  }
  insertTargetGroup(scope: ElbScope, row: TgRow): void {
    this.sql("INSERT INTO target_groups (arn, region, account, name, body, attributes) VALUES (?, ?, ?, ?, ?, ?)").run(
      row.tg.arn, scope.region, scope.accountId, row.tg.name, JSON.stringify(row.tg), JSON.stringify(row.attributes),
    );
  }
  updateTargetGroup(row: TgRow): void {
    this.sql("UPDATE target_groups SET body = ?, attributes = ? WHERE arn = ?").run(JSON.stringify(row.tg), JSON.stringify(row.attributes), row.tg.arn);
  }
  /* out: the group and its targets (cascade) are gone. */
  deleteTargetGroup(arn: string): void {
    this.sql("DELETE FROM target_groups WHERE arn = ?").run(arn);
  }

  // --- forwards (derived) -----------------------------------------------------------------
  /** Load balancers whose listeners or rules forward to the group. */
  loadBalancersOf(tgArn: string): string[] {
    return (this.sql("SELECT DISTINCT lb_arn FROM forwards WHERE tg_arn = ? ORDER BY lb_arn").all(tgArn) as Row[]).map((r) => r["lb_arn"] as string);
  }
  /** Same, ignoring what `owner` (a listener or rule about to be rewritten) forwards. */
  loadBalancersOfExcept(tgArn: string, owner: string): string[] {
    return (this.sql("SELECT DISTINCT lb_arn FROM forwards WHERE tg_arn = ? AND owner <> ?").all(tgArn, owner) as Row[]).map((r) => r["lb_arn"] as string);
  }
  /* in: the owner's forwarded groups; out: the owner's previous rows replaced. */
  setForwards(owner: string, listenerArn: string, lbArn: string, tgArns: readonly string[]): void {
    this.sql("DELETE FROM forwards WHERE owner = ?").run(owner);
    for (const tg of new Set(tgArns)) {
      this.sql("INSERT INTO forwards (owner, listener_arn, lb_arn, tg_arn) VALUES (?, ?, ?, ?)").run(owner, listenerArn, lbArn, tg);
    }
  }

  // --- listeners and rules ----------------------------------------------------------------
  listener(arn: string): ListenerRow | undefined {
    const r = this.sql("SELECT body, default_rule_arn FROM listeners WHERE arn = ?").get(arn) as Row | undefined;
    return r && listenerRow(r);
  }
  listenerWithDefaultRule(ruleArn: string): ListenerRow | undefined {
    const r = this.sql("SELECT body, default_rule_arn FROM listeners WHERE default_rule_arn = ?").get(ruleArn) as Row | undefined;
    return r && listenerRow(r);
  }
  listenersOf(lbArn: string): ListenerRow[] {
    return (this.sql("SELECT body, default_rule_arn FROM listeners WHERE lb_arn = ? ORDER BY rowid").all(lbArn) as Row[]).map(listenerRow);
  }
  allListeners(): ListenerRow[] {
    return (this.sql("SELECT body, default_rule_arn FROM listeners ORDER BY rowid").all() as Row[]).map(listenerRow);
  }
  listenerOnPort(lbArn: string, port: number): string | undefined {
    return (this.sql("SELECT arn FROM listeners WHERE lb_arn = ? AND port = ?").get(lbArn, port) as Row | undefined)?.["arn"] as string | undefined;
  }
  insertListener(row: ListenerRow): void {
    const l = row.listener;
    this.sql("INSERT INTO listeners (arn, lb_arn, port, default_rule_arn, body) VALUES (?, ?, ?, ?, ?)").run(l.arn, l.loadBalancerArn, l.port, row.defaultRuleArn, JSON.stringify(l));
  }
  updateListener(listener: Listener): void {
    this.sql("UPDATE listeners SET port = ?, body = ? WHERE arn = ?").run(listener.port, JSON.stringify(listener), listener.arn);
  }
  /* out: the listener, its rules and forwards (cascade) are gone. */
  deleteListener(arn: string): void {
    this.sql("DELETE FROM listeners WHERE arn = ?").run(arn);
  }
  rule(arn: string): RuleRow | undefined {
    const r = this.sql("SELECT arn, listener_arn, priority, body FROM rules WHERE arn = ?").get(arn) as Row | undefined;
    return r && ruleRow(r);
  }
  rulesOf(listenerArn: string): RuleRow[] {
    return (this.sql("SELECT arn, listener_arn, priority, body FROM rules WHERE listener_arn = ? ORDER BY priority").all(listenerArn) as Row[]).map(ruleRow);
  }
  ruleWithPriority(listenerArn: string, priority: number): string | undefined {
    return (this.sql("SELECT arn FROM rules WHERE listener_arn = ? AND priority = ?").get(listenerArn, priority) as Row | undefined)?.["arn"] as string | undefined;
  }
  ruleCount(listenerArn: string): number {
    return (this.sql("SELECT count(*) AS n FROM rules WHERE listener_arn = ?").get(listenerArn) as Row)["n"] as number;
  }
  /* in: a new rule; fails on the (listener, priority) unique key. */
  insertRule(row: RuleRow): void {
    this.sql("INSERT INTO rules (arn, listener_arn, priority, body) VALUES (?, ?, ?, ?)").run(
      row.arn, row.listenerArn, row.priority, JSON.stringify({ conditions: row.conditions, actions: row.actions }),
    );
  }
  updateRule(row: RuleRow): void {
    this.sql("UPDATE rules SET priority = ?, body = ? WHERE arn = ?").run(row.priority, JSON.stringify({ conditions: row.conditions, actions: row.actions }), row.arn);
  }
  deleteRule(arn: string): void {
    this.sql("DELETE FROM forwards WHERE owner = ?").run(arn);
    this.sql("DELETE FROM rules WHERE arn = ?").run(arn);
  }

  // --- targets ----------------------------------------------------------------------------
  targetsOf(tgArn: string): TargetRow[] {
    return (this.sql("SELECT * FROM targets WHERE tg_arn = ? ORDER BY rowid").all(tgArn) as Row[]).map(targetRow);
  }
  drainingTargets(): TargetRow[] {
    return (this.sql("SELECT * FROM targets WHERE state = 'draining' ORDER BY rowid").all() as Row[]).map(targetRow);
  }
  /* out: the target is registered (a draining one registered again), its AZ as last given. */
  registerTarget(tgArn: string, id: string, port: number, az: string | undefined): void {
    this.sql(
      `INSERT INTO targets (tg_arn, id, port, az, state, deregistered_at) VALUES (?, ?, ?, ?, 'registered', NULL)
       ON CONFLICT (tg_arn, id, port) DO UPDATE SET state = 'registered', deregistered_at = NULL, az = coalesce(excluded.az, az)`,
    ).run(tgArn, id, port, az ?? null);
  }
  drainTarget(tgArn: string, id: string, port: number, now: number): void {
    this.sql("UPDATE targets SET state = 'draining', deregistered_at = ? WHERE tg_arn = ? AND id = ? AND port = ? AND state = 'registered'").run(now, tgArn, id, port);
  }
  /* guard: only a target still draining is removed (a re-registered one stays). */
  removeDrainingTarget(tgArn: string, id: string, port: number): boolean {
    return this.sql("DELETE FROM targets WHERE tg_arn = ? AND id = ? AND port = ? AND state = 'draining'").run(tgArn, id, port).changes > 0;
  }
  removeTarget(tgArn: string, id: string, port: number): void {
    this.sql("DELETE FROM targets WHERE tg_arn = ? AND id = ? AND port = ?").run(tgArn, id, port);
  }

  // --- tags -------------------------------------------------------------------------------
  tags(arn: string): ElbTag[] {
    return (this.sql("SELECT key, value FROM tags WHERE arn = ? ORDER BY rowid").all(arn) as Row[]).map((r) => ({ key: r["key"] as string, value: r["value"] as string }));
  }
  setTag(arn: string, key: string, value: string): void {
    this.sql("INSERT INTO tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value").run(arn, key, value);
  }
  removeTag(arn: string, key: string): void {
    this.sql("DELETE FROM tags WHERE arn = ? AND key = ?").run(arn, key);
  }
  removeTags(arns: readonly string[]): void {
    for (const arn of arns) this.sql("DELETE FROM tags WHERE arn = ?").run(arn);
  }

  // --- certificates -----------------------------------------------------------------------
  certificate(arn: string): CertificateRow | undefined {
    const r = this.sql("SELECT * FROM certificates WHERE arn = ?").get(arn) as Row | undefined;
    return r && this.certificateRow(r);
  }
  certificates(scope: ElbScope): CertificateRow[] {
    return (this.sql("SELECT * FROM certificates WHERE region = ? AND account = ? ORDER BY rowid").all(scope.region, scope.accountId) as Row[]).map((r) => this.certificateRow(r));
  }
  /* in: a certificate; an existing ARN is replaced (re-import). */
  putCertificate(scope: ElbScope, row: CertificateRow): void {
    this.sql(
      `INSERT INTO certificates (arn, region, account, body, certificate_pem, chain_pem, private_key_pem) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET body = excluded.body, certificate_pem = excluded.certificate_pem,
         chain_pem = excluded.chain_pem, private_key_pem = excluded.private_key_pem`,
    ).run(row.certificate.arn, scope.region, scope.accountId, JSON.stringify(row.certificate), row.certificatePem, row.chainPem ?? null, sealText(this.sealer, row.privateKeyPem, row.certificate.arn));
  }
  deleteCertificate(arn: string): void {
    this.sql("DELETE FROM certificates WHERE arn = ?").run(arn);
  }
}
