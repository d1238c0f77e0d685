/**
 * ECS operations for services and their deployments and revisions: thin decoding into
 * control/services.ts and encoding through ecs-service-views.ts.
 */
import { parseArn } from "../../core/arn.ts";
import { invalidParameter } from "../../core/errors.ts";
import type { CallContext, ControlDeps } from "../../control/context.ts";
import * as services from "../../control/services.ts";
import type { Deployment, Service } from "../../domain/service.ts";
import type * as ecs from "../models/ecs.types.ts";
import type { OperationHandler } from "../service.ts";
import { allDeployments, serviceDeploymentBrief, serviceDeploymentView, serviceRevisionView, serviceView } from "./ecs-service-views.ts";
import { asTags, defined } from "../wire.ts";


function command(input: ecs.CreateServiceRequest | ecs.UpdateServiceRequest): services.ServiceCommand {
  const cmd = defined({
    cluster: input.cluster,
    taskDefinition: input.taskDefinition,
    desiredCount: input.desiredCount,
    capacityProviderStrategy: input.capacityProviderStrategy as services.ServiceCommand["capacityProviderStrategy"],
    platformVersion: input.platformVersion,
    deploymentConfiguration: input.deploymentConfiguration as services.ServiceCommand["deploymentConfiguration"],
    networkConfiguration: input.networkConfiguration as Record<string, unknown> | undefined,
    placementConstraints: input.placementConstraints as services.ServiceCommand["placementConstraints"],
    placementStrategy: input.placementStrategy as services.ServiceCommand["placementStrategy"],
    loadBalancers: input.loadBalancers as Record<string, unknown>[] | undefined,
    serviceRegistries: input.serviceRegistries as Record<string, unknown>[] | undefined,
    healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds,
    propagateTags: input.propagateTags,
    enableECSManagedTags: input.enableECSManagedTags,
    enableExecuteCommand: input.enableExecuteCommand,
  });
  return cmd as services.ServiceCommand;
}

/** The service and deployment a service-deployment or service-revision ARN names. */
async function deploymentByArn(deps: ControlDeps, ctx: CallContext, arn: string): Promise<{ service: Service; deployment: Deployment } | undefined> {
  const parsed = parseArn(arn);
  const parts = parsed?.resource.split("/") ?? [];
  if (parts.length !== 4) return undefined;
  const [, cluster, name, digits] = parts as [string, string, string, string];
  const service = await deps.store.getService(parsed?.region || ctx.scope.region, cluster, name);
  const deployment = service && allDeployments(service).find((d) => d.id === `ecs-svc/${digits}`);
  return service && deployment ? { service, deployment } : undefined;
}

export function serviceOperations(deps: ControlDeps, notify: services.ServiceNotifier): Record<string, OperationHandler> {
  const view = async (s: Service, withTags = false) => serviceView(s, withTags ? await deps.store.getTags(s.serviceArn) : []);
  return {
    CreateService: async (ctx: CallContext, input: ecs.CreateServiceRequest): Promise<ecs.CreateServiceResponse> => {
      const cmd = command(input);
      if (input.launchType) cmd.launchType = input.launchType;
      if (input.schedulingStrategy) cmd.schedulingStrategy = input.schedulingStrategy;
      if (input.tags) cmd.tags = asTags(input.tags);
      return { service: await view(await services.createService(deps, notify, ctx, input.serviceName, cmd), true) };
    },
    UpdateService: async (ctx: CallContext, input: ecs.UpdateServiceRequest): Promise<ecs.UpdateServiceResponse> => {
      const cmd: services.ServiceCommand & { forceNewDeployment?: boolean } = command(input);
      if (input.forceNewDeployment) cmd.forceNewDeployment = true;
      return { service: await view(await services.updateService(deps, notify, ctx, input.service, cmd)) };
    },
    DeleteService: async (ctx: CallContext, input: ecs.DeleteServiceRequest): Promise<ecs.DeleteServiceResponse> => ({
      service: await view(await services.deleteService(deps, notify, ctx, input.cluster, input.service, input.force ?? false)),
    }),
    DescribeServices: async (ctx: CallContext, input: ecs.DescribeServicesRequest): Promise<ecs.DescribeServicesResponse> => {
      const result = await services.describeServices(deps, ctx, input.cluster, input.services);
      const withTags = (input.include ?? []).includes("TAGS");
      return { services: await Promise.all(result.services.map((s) => view(s, withTags))), failures: result.failures };
    },
    ListServices: async (ctx: CallContext, input: ecs.ListServicesRequest): Promise<ecs.ListServicesResponse> =>
      services.listServices(deps, ctx, defined(input)),
    ListServicesByNamespace: async (): Promise<ecs.ListServicesByNamespaceResponse> => ({ serviceArns: [] }),

    ListServiceDeployments: async (ctx: CallContext, input: ecs.ListServiceDeploymentsRequest): Promise<ecs.ListServiceDeploymentsResponse> => {
      const service = await services.findService(deps, ctx, input.cluster, input.service);
      if (!service) throw services.serviceNotFound();
      const after = input.createdAt?.after === undefined ? undefined : toMs(input.createdAt.after);
      const before = input.createdAt?.before === undefined ? undefined : toMs(input.createdAt.before);
      const briefs = allDeployments(service)
        .filter((d) => (after === undefined || d.createdAt >= after) && (before === undefined || d.createdAt <= before))
        .map((d) => serviceDeploymentBrief(service, d))
        .filter((b) => !input.status?.length || input.status.includes(b.status!));
      return { serviceDeployments: briefs.slice(0, input.maxResults ?? 20) };
    },
    DescribeServiceDeployments: async (ctx: CallContext, input: ecs.DescribeServiceDeploymentsRequest): Promise<ecs.DescribeServiceDeploymentsResponse> => {
      const out: ecs.DescribeServiceDeploymentsResponse = { serviceDeployments: [], failures: [] };
      for (const arn of input.serviceDeploymentArns) {
        const found = await deploymentByArn(deps, ctx, arn);
        if (found) out.serviceDeployments!.push(serviceDeploymentView(found.service, found.deployment));
        else out.failures!.push({ arn, reason: "MISSING" });
      }
      return out;
    },
    DescribeServiceRevisions: async (ctx: CallContext, input: ecs.DescribeServiceRevisionsRequest): Promise<ecs.DescribeServiceRevisionsResponse> => {
      const out: ecs.DescribeServiceRevisionsResponse = { serviceRevisions: [], failures: [] };
      for (const arn of input.serviceRevisionArns) {
        const found = await deploymentByArn(deps, ctx, arn);
        if (found) out.serviceRevisions!.push(serviceRevisionView(found.service, found.deployment));
        else out.failures!.push({ arn, reason: "MISSING" });
      }
      return out;
    },
    StopServiceDeployment: async (ctx: CallContext, input: ecs.StopServiceDeploymentRequest): Promise<ecs.StopServiceDeploymentResponse> => {
      const found = await deploymentByArn(deps, ctx, input.serviceDeploymentArn);
      if (!found) throw invalidParameter("The service deployment was not found.");
      await services.stopServiceDeployment(deps, notify, found.service, found.deployment, input.stopType ?? "ROLLBACK");
      return { serviceDeploymentArn: input.serviceDeploymentArn };
    },
  };
}

const toMs = (t: number | string | Date): number => (typeof t === "number" ? t * 1000 : new Date(t).getTime());
