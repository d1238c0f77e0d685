/**
 * Listeners and rules: creation with AWS's checks (protocol for the load balancer type, one
 * listener per port, certificates and SSL policy, actions, forwarded target groups that exist,
 * speak a compatible protocol and belong to no other load balancer, rule priorities unique per
 * listener), describe with the default rule, modify, delete, SetRulePriorities. Every write is
 * one transaction through ElbContext.write and notifies the data plane.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import { listenerArn, ruleArn } from "../domain/lb-arns.ts";
import { checkActions, checkConditions, forwardedGroups } from "../domain/lb-routing.ts";
import { DEFAULT_SSL_POLICY, checkCompatible, checkListenerCertificates, listenerProtocolOf } from "../domain/lb-rules.ts";
import { findSslPolicy } from "../domain/lb-ssl-policies.ts";
import type {
  Action,
  CreateListenerCommand,
  CreateRuleCommand,
  ElbScope,
  Listener,
  ListenerProtocol,
  LoadBalancer,
  ModifyListenerCommand,
  Page,
  PageQuery,
  Rule,
  RuleCondition,
} from "../domain/load-balancing.ts";
import type { ListenerRow, RuleRow } from "./elb-catalog.ts";
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

export const MAX_LISTENERS_PER_LOAD_BALANCER = 50;
export const MAX_RULES_PER_LISTENER = 100;
export const MAX_CERTIFICATES_PER_LISTENER = 25;

/** Forwarded groups exist in scope, fit the listener's protocol, and serve only this load balancer. */
function checkForwards(ctx: ElbContext, scope: ElbScope, lb: LoadBalancer, protocol: ListenerProtocol, actions: readonly Action[], owner: string): void {
  for (const arn of forwardedGroups(actions)) {
    let group;
    try {
      group = requireTargetGroup(ctx, scope, arn).tg;
    } catch {
      throw new BerthError(ErrorCode.TargetGroupNotFound, `Target groups '${arn}' not found`);
    }
    checkCompatible(protocol, { ...group, loadBalancerArns: [] });
    if (ctx.catalog.loadBalancersOfExcept(arn, owner).some((other) => other !== lb.arn)) {
      throw new BerthError(ErrorCode.TargetGroupAssociationLimit, `The following target groups cannot be associated with more than one load balancer: ${arn}`);
    }
  }
}

function checkCertificates(scope: ElbScope, arns: readonly string[], certificateExists: (scope: ElbScope, arn: string) => boolean): void {
  if (arns.length > MAX_CERTIFICATES_PER_LISTENER) {
    throw new BerthError(ErrorCode.TooManyCertificates, `A listener can have at most ${MAX_CERTIFICATES_PER_LISTENER} certificates`);
  }
  for (const arn of arns) {
    if (!certificateExists(scope, arn)) throw new BerthError(ErrorCode.CertificateNotFound, `Certificate '${arn}' not found`);
  }
}

function sslPolicyFor(protocol: ListenerProtocol, given: string | undefined): string | undefined {
  if (protocol !== "HTTPS" && protocol !== "TLS") {
    if (given !== undefined) throw new BerthError(ErrorCode.Validation, `An SSL policy is not supported for ${protocol} listeners`);
    return undefined;
  }
  const name = given ?? DEFAULT_SSL_POLICY;
  if (!findSslPolicy(name)) throw new BerthError(ErrorCode.SslPolicyNotFound, `SSL policy '${name}' not found`);
  return name;
}

export type CertificateExists = (scope: ElbScope, arn: string) => boolean;

export function createListener(ctx: ElbContext, scope: ElbScope, cmd: CreateListenerCommand, certificateExists: CertificateExists): Listener {
  const { lb } = requireLoadBalancer(ctx, scope, cmd.loadBalancerArn);
  const protocol = listenerProtocolOf(lb.type, cmd.protocol);
  if (cmd.port === undefined) throw new BerthError(ErrorCode.Validation, "A listener port must be specified");
  const certificates = cmd.certificates ?? [];
  checkListenerCertificates(protocol, certificates);
  checkCertificates(scope, certificates, certificateExists);
  const sslPolicy = sslPolicyFor(protocol, cmd.sslPolicy);
  const defaultActions = checkActions(cmd.defaultActions, lb.type);
  checkTags([], cmd.tags ?? []);
  const arn = listenerArn(lb.arn, hex16(ctx.ids));
  checkForwards(ctx, scope, lb, protocol, defaultActions, arn);
  if (ctx.catalog.listenerOnPort(lb.arn, cmd.port) !== undefined) {
    throw new BerthError(ErrorCode.DuplicateListener, `A listener already exists on port ${cmd.port} for load balancer '${lb.arn}'`);
  }
  if (ctx.catalog.listenersOf(lb.arn).length >= MAX_LISTENERS_PER_LOAD_BALANCER) {
    throw new BerthError(ErrorCode.TooManyListeners, `A load balancer can have at most ${MAX_LISTENERS_PER_LOAD_BALANCER} listeners`);
  }
  const listener: Listener = {
    arn,
    loadBalancerArn: lb.arn,
    port: cmd.port,
    protocol,
    certificates,
    ...(sslPolicy !== undefined ? { sslPolicy } : {}),
    ...(cmd.alpnPolicy !== undefined && cmd.alpnPolicy.length > 0 ? { alpnPolicy: cmd.alpnPolicy } : {}),
    defaultActions,
    bindPort: ctx.bindPortFor({ protocol, port: cmd.port }),
  };
  ctx.write(() => {
    ctx.catalog.insertListener({ listener, defaultRuleArn: ruleArn(arn, hex16(ctx.ids)) });
    ctx.catalog.setForwards(arn, arn, lb.arn, forwardedGroups(defaultActions));
    writeTags(ctx, arn, cmd.tags);
  });
  return listener;
}

export function describeListeners(ctx: ElbContext, scope: ElbScope, q: PageQuery & { loadBalancerArn?: string; arns?: string[] }): Page<Listener> {
  if (q.loadBalancerArn !== undefined && q.arns !== undefined && q.arns.length > 0) {
    throw new BerthError(ErrorCode.Validation, "Listener ARNs and a load balancer ARN cannot be specified at the same time");
  }
  let listeners: Listener[];
  if (q.loadBalancerArn !== undefined) {
    requireLoadBalancer(ctx, scope, q.loadBalancerArn);
    listeners = ctx.catalog.listenersOf(q.loadBalancerArn).map((r) => r.listener);
  } else if (q.arns !== undefined && q.arns.length > 0) {
    listeners = q.arns.map((arn) => {
      try {
        return requireListener(ctx, scope, arn).listener;
      } catch {
        throw new BerthError(ErrorCode.ListenerNotFound, "One or more listeners not found");
      }
    });
  } else {
    throw new BerthError(ErrorCode.Validation, "You must specify either listener ARNs or a load balancer ARN");
  }
  return page(listeners, q.marker, q.pageSize);
}

export function modifyListener(ctx: ElbContext, scope: ElbScope, arn: string, cmd: ModifyListenerCommand, certificateExists: CertificateExists): Listener {
  const { listener } = requireListener(ctx, scope, arn);
  const { lb } = requireLoadBalancer(ctx, scope, listener.loadBalancerArn);
  const protocol = cmd.protocol !== undefined ? listenerProtocolOf(lb.type, cmd.protocol) : listener.protocol;
  const secure = protocol === "HTTPS" || protocol === "TLS";
  const certificates = cmd.certificates ?? (secure ? listener.certificates : []);
  checkListenerCertificates(protocol, certificates);
  checkCertificates(scope, certificates, certificateExists);
  const sslPolicy = sslPolicyFor(protocol, cmd.sslPolicy ?? (secure ? listener.sslPolicy : undefined));
  const defaultActions = cmd.defaultActions ? checkActions(cmd.defaultActions, lb.type) : listener.defaultActions;
  checkForwards(ctx, scope, lb, protocol, defaultActions, arn);
  for (const rule of ctx.catalog.rulesOf(arn)) checkForwards(ctx, scope, lb, protocol, rule.actions, rule.arn);
  const port = cmd.port ?? listener.port;
  const onPort = ctx.catalog.listenerOnPort(lb.arn, port);
  if (onPort !== undefined && onPort !== arn) {
    throw new BerthError(ErrorCode.DuplicateListener, `A listener already exists on port ${port} for load balancer '${lb.arn}'`);
  }
  const { sslPolicy: _old, alpnPolicy: _alpn, ...rest } = listener;
  const alpnPolicy = cmd.alpnPolicy ?? listener.alpnPolicy;
  const next: Listener = {
    ...rest,
    port,
    protocol,
    certificates,
    ...(sslPolicy !== undefined ? { sslPolicy } : {}),
    ...(alpnPolicy !== undefined && alpnPolicy.length > 0 ? { alpnPolicy } : {}),
    defaultActions,
    bindPort: port !== listener.port || protocol !== listener.protocol ? ctx.bindPortFor({ protocol, port }) : listener.bindPort,
  };
  ctx.write(() => {
    ctx.catalog.updateListener(next);
    ctx.catalog.setForwards(arn, arn, lb.arn, forwardedGroups(defaultActions));
  });
  return next;
}

export function deleteListener(ctx: ElbContext, scope: ElbScope, arn: string): void {
  requireListener(ctx, scope, arn);
  ctx.write(() => {
    ctx.catalog.removeTags([arn, ...ctx.catalog.rulesOf(arn).map((r) => r.arn)]);
    ctx.catalog.deleteListener(arn);
  });
}

export function listenerCertificates(ctx: ElbContext, scope: ElbScope, arn: string): { certificateArn: string; isDefault: boolean }[] {
  return requireListener(ctx, scope, arn).listener.certificates.map((certificateArn, i) => ({ certificateArn, isDefault: i === 0 }));
}

/** Adds non-default certificates (the default one is set by Create/ModifyListener). */
export function addListenerCertificates(ctx: ElbContext, scope: ElbScope, arn: string, arns: string[], certificateExists: CertificateExists): void {
  const { listener } = requireListener(ctx, scope, arn);
  if (listener.protocol !== "HTTPS" && listener.protocol !== "TLS") {
    throw new BerthError(ErrorCode.Validation, `Certificates are not supported for ${listener.protocol} listeners`);
  }
  const certificates = [...new Set([...listener.certificates, ...arns])];
  checkCertificates(scope, certificates, certificateExists);
  ctx.write(() => ctx.catalog.updateListener({ ...listener, certificates }));
}

export function removeListenerCertificates(ctx: ElbContext, scope: ElbScope, arn: string, arns: string[]): void {
  const { listener } = requireListener(ctx, scope, arn);
  if (arns.includes(listener.certificates[0] ?? "")) {
    throw new BerthError(ErrorCode.OperationNotPermitted, "The default certificate cannot be removed; use ModifyListener to replace it");
  }
  const certificates = listener.certificates.filter((c) => !arns.includes(c));
  ctx.write(() => ctx.catalog.updateListener({ ...listener, certificates }));
}

// --- rules ---------------------------------------------------------------------------------

const ruleOf = (row: RuleRow): Rule => ({
  arn: row.arn,
  listenerArn: row.listenerArn,
  priority: row.priority,
  conditions: row.conditions,
  actions: row.actions,
  isDefault: false,
});

const defaultRuleOf = (row: ListenerRow): Rule => ({
  arn: row.defaultRuleArn,
  listenerArn: row.listener.arn,
  conditions: [],
  actions: row.listener.defaultActions,
  isDefault: true,
});

function applicationListener(ctx: ElbContext, scope: ElbScope, arn: string): { listener: Listener; lb: LoadBalancer } {
  const { listener } = requireListener(ctx, scope, arn);
  const { lb } = requireLoadBalancer(ctx, scope, listener.loadBalancerArn);
  if (lb.type !== "application") {
    throw new BerthError(ErrorCode.InvalidConfigurationRequest, "Rules are supported only on listeners of Application Load Balancers");
  }
  return { listener, lb };
}

export function createRule(ctx: ElbContext, scope: ElbScope, cmd: CreateRuleCommand): Rule {
  const { listener, lb } = applicationListener(ctx, scope, cmd.listenerArn);
  checkConditions(cmd.conditions);
  const actions = checkActions(cmd.actions, lb.type);
  checkTags([], cmd.tags ?? []);
  const arn = ruleArn(listener.arn, hex16(ctx.ids));
  checkForwards(ctx, scope, lb, listener.protocol, actions, arn);
  if (ctx.catalog.ruleWithPriority(listener.arn, cmd.priority) !== undefined) {
    throw new BerthError(ErrorCode.PriorityInUse, `Priority '${cmd.priority}' is currently in use`);
  }
  if (ctx.catalog.ruleCount(listener.arn) >= MAX_RULES_PER_LISTENER) {
    throw new BerthError(ErrorCode.TooManyRules, `A listener can have at most ${MAX_RULES_PER_LISTENER} rules`);
  }
  const row: RuleRow = { arn, listenerArn: listener.arn, priority: cmd.priority, conditions: cmd.conditions, actions };
  ctx.write(() => {
    ctx.catalog.insertRule(row);
    ctx.catalog.setForwards(arn, listener.arn, lb.arn, forwardedGroups(actions));
    writeTags(ctx, arn, cmd.tags);
  });
  return ruleOf(row);
}

export function describeRules(ctx: ElbContext, scope: ElbScope, q: PageQuery & { listenerArn?: string; arns?: string[] }): Page<Rule> {
  let rules: Rule[];
  if (q.listenerArn !== undefined) {
    const row = requireListener(ctx, scope, q.listenerArn);
    rules = [...ctx.catalog.rulesOf(q.listenerArn).map(ruleOf), defaultRuleOf(row)];
  } else if (q.arns !== undefined && q.arns.length > 0) {
    rules = q.arns.map((arn) => {
      const found = requireRule(ctx, scope, arn);
      return found.rule ? ruleOf(found.rule) : defaultRuleOf(found.defaultOf!);
    });
  } else {
    throw new BerthError(ErrorCode.Validation, "You must specify either listener or rule ARNs");
  }
  return page(rules, q.marker, q.pageSize);
}

export function modifyRule(ctx: ElbContext, scope: ElbScope, arn: string, changes: { conditions?: RuleCondition[]; actions?: Action[] }): Rule {
  const found = requireRule(ctx, scope, arn);
  if (found.defaultOf) {
    if (changes.conditions !== undefined) throw new BerthError(ErrorCode.OperationNotPermitted, "The conditions of a default rule cannot be modified");
    if (changes.actions === undefined) return defaultRuleOf(found.defaultOf);
    const listener = modifyListener(ctx, scope, found.defaultOf.listener.arn, { defaultActions: changes.actions }, () => true);
    return defaultRuleOf({ listener, defaultRuleArn: arn });
  }
  const rule = found.rule!;
  const { listener, lb } = applicationListener(ctx, scope, rule.listenerArn);
  const conditions = changes.conditions ?? rule.conditions;
  checkConditions(conditions);
  const actions = changes.actions ? checkActions(changes.actions, lb.type) : rule.actions;
  checkForwards(ctx, scope, lb, listener.protocol, actions, arn);
  const next: RuleRow = { ...rule, conditions, actions };
  ctx.write(() => {
    ctx.catalog.updateRule(next);
    ctx.catalog.setForwards(arn, listener.arn, lb.arn, forwardedGroups(actions));
  });
  return ruleOf(next);
}

export function deleteRule(ctx: ElbContext, scope: ElbScope, arn: string): void {
  const found = requireRule(ctx, scope, arn);
  if (found.defaultOf) throw new BerthError(ErrorCode.OperationNotPermitted, `Default rule '${arn}' cannot be deleted`);
  ctx.write(() => {
    ctx.catalog.removeTags([arn]);
    ctx.catalog.deleteRule(arn);
  });
}

/** All or nothing: the final priorities must be unique per listener. */
export function setRulePriorities(ctx: ElbContext, scope: ElbScope, pairs: { ruleArn: string; priority: number }[]): Rule[] {
  const changed = new Map<string, RuleRow>();
  for (const { ruleArn: arn, priority } of pairs) {
    const found = requireRule(ctx, scope, arn);
    if (found.defaultOf) throw new BerthError(ErrorCode.OperationNotPermitted, `The priority of default rule '${arn}' cannot be changed`);
    if (changed.has(arn)) throw new BerthError(ErrorCode.Validation, `Rule '${arn}' is specified more than once`);
    changed.set(arn, { ...found.rule!, priority });
  }
  const listeners = new Set([...changed.values()].map((r) => r.listenerArn));
  for (const listenerArnValue of listeners) {
    const final = ctx.catalog.rulesOf(listenerArnValue).map((r) => changed.get(r.arn) ?? r);
    const seen = new Set<number>();
    for (const r of final) {
      if (seen.has(r.priority)) throw new BerthError(ErrorCode.PriorityInUse, `Priority '${r.priority}' is currently in use`);
      seen.add(r.priority);
    }
  }
  ctx.write(() => {
    // Park the moved rules on negative priorities first, so swaps pass the unique key.
    for (const r of changed.values()) ctx.catalog.updateRule({ ...r, priority: -r.priority });
    for (const r of changed.values()) ctx.catalog.updateRule(r);
  });
  return [...changed.values()].map(ruleOf);
}
