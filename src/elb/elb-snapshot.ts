/**
 * The whole configuration as the data plane wants it (protocol/lb-protocol.ts LbSnapshot):
 * every load balancer with its listeners, rules by priority and default actions; every target
 * group with its health check, attributes and targets (instance targets resolved to their
 * host's address; ones that cannot be resolved are left out until they can); the PEM material
 * of the certificates listeners name.
 */
import type { Action, Listener, RuleCondition } from "../domain/load-balancing.ts";
import type { ActionSpec, ConditionSpec, LbSnapshot, ListenerSpec, LoadBalancerSpec, TargetGroupSpec, TargetSpec } from "../protocol/lb-protocol.ts";
import type { ElbCatalog, StoredTargetGroup, TargetRow } from "./elb-catalog.ts";

export interface SnapshotOptions {
  bindHost: string;
  instanceAddress(instanceId: string): string | undefined;
}

export function buildSnapshot(catalog: ElbCatalog, options: SnapshotOptions): LbSnapshot {
  const loadBalancers = catalog.loadBalancers(undefined).map(({ lb, attributes }): LoadBalancerSpec => ({
    arn: lb.arn,
    name: lb.name,
    type: lb.type,
    attributes,
    listeners: catalog.listenersOf(lb.arn).map(({ listener }) => listenerSpec(catalog, listener, options.bindHost)),
  }));
  const targetGroups = catalog.targetGroups(undefined).map(({ tg, attributes }) => targetGroupSpec(catalog, tg, attributes, options));
  const certificates = certificatesNamed(catalog, loadBalancers.flatMap((lb) => lb.listeners));
  return { loadBalancers, targetGroups, certificates };
}

function listenerSpec(catalog: ElbCatalog, listener: Listener, bindHost: string): ListenerSpec {
  return {
    arn: listener.arn,
    protocol: listener.protocol,
    port: listener.port,
    bindPort: listener.bindPort,
    bindHost,
    certificateArns: listener.certificates,
    ...(listener.sslPolicy !== undefined ? { sslPolicy: listener.sslPolicy } : {}),
    rules: catalog.rulesOf(listener.arn).map((r) => ({
      arn: r.arn,
      priority: r.priority,
      conditions: r.conditions.map(conditionSpec),
      actions: r.actions.map(actionSpec),
    })),
    defaultActions: listener.defaultActions.map(actionSpec),
  };
}

/** The PEM material of every certificate the listeners name; an ARN the catalog no longer holds is left out. */
function certificatesNamed(catalog: ElbCatalog, listeners: ListenerSpec[]): LbSnapshot["certificates"] {
  const certificates: LbSnapshot["certificates"] = {};
  for (const arn of listeners.flatMap((l) => l.certificateArns)) {
    const row = catalog.certificate(arn);
    if (row) {
      certificates[arn] = {
        certificatePem: row.certificatePem,
        privateKeyPem: row.privateKeyPem,
        ...(row.chainPem !== undefined ? { chainPem: row.chainPem } : {}),
      };
    }
  }
  return certificates;
}

function targetGroupSpec(catalog: ElbCatalog, tg: StoredTargetGroup, attributes: Record<string, string>, options: SnapshotOptions): TargetGroupSpec {
  return {
    arn: tg.arn,
    name: tg.name,
    protocol: tg.protocol,
    port: tg.port,
    targetType: tg.targetType,
    healthCheck: {
      enabled: tg.healthCheck.enabled,
      protocol: tg.healthCheck.protocol,
      port: tg.healthCheck.port,
      path: tg.healthCheck.path ?? "",
      intervalSeconds: tg.healthCheck.intervalSeconds,
      timeoutSeconds: tg.healthCheck.timeoutSeconds,
      healthyThreshold: tg.healthCheck.healthyThreshold,
      unhealthyThreshold: tg.healthCheck.unhealthyThreshold,
      httpCode: tg.healthCheck.matcher ?? "",
    },
    attributes,
    targets: catalog.targetsOf(tg.arn).flatMap((t) => targetSpecs(tg, t, options)),
  };
}

function targetSpecs(tg: StoredTargetGroup, t: TargetRow, options: SnapshotOptions): TargetSpec[] {
  const address = tg.targetType === "ip" ? t.id : options.instanceAddress(t.id);
  if (address === undefined) return [];
  return [{ id: t.id, port: t.port, address, state: t.state, ...(t.az !== undefined ? { availabilityZone: t.az } : {}) }];
}

function actionSpec(action: Action): ActionSpec {
  switch (action.type) {
    case "forward":
      return {
        type: "forward",
        targetGroups: action.targetGroups.map((g) => ({ arn: g.targetGroupArn, weight: g.weight })),
        ...(action.stickiness.enabled ? { stickiness: { enabled: true, durationSeconds: action.stickiness.durationSeconds ?? 3600 } } : {}),
      };
    case "redirect":
      return { type: "redirect", ...action.redirect };
    case "fixed-response":
      return { type: "fixed-response", ...action.fixedResponse };
  }
}

function conditionSpec(c: RuleCondition): ConditionSpec {
  switch (c.field) {
    case "path-pattern":
    case "host-header":
      return { field: c.field, values: c.values };
    case "http-header":
      return { field: "http-header", headerName: c.headerName, values: c.values };
    default:
      return c as ConditionSpec;
  }
}
