/**
 * Tasks and container instances → ECS wire shapes (epoch-second timestamps, ECS's field
 * names, awsvpc tasks' ENI attachment with the task IP).
 */
import { type ContainerInstance, resourceList } from "../../domain/container-instance.ts";
import type { Tag } from "../../domain/tags.ts";
import type { Task, TaskContainer } from "../../domain/task.ts";
import type { ContainerInstance as ContainerInstanceWire, Task as TaskWire } from "../models/ecs.types.ts";
import { epochSeconds } from "./ecs-views.ts";
import { defined } from "../wire.ts";

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : epochSeconds(ms));

/** A stable attachment id for the task's network interface, derived from the task id. */
const attachmentId = (taskId: string): string =>
  `${taskId.slice(0, 8)}-${taskId.slice(8, 12)}-${taskId.slice(12, 16)}-${taskId.slice(16, 20)}-${taskId.slice(20, 32)}`;

function attachments(task: Task): NonNullable<TaskWire["attachments"]> {
  if (task.networkMode !== "awsvpc") return [];
  const stopped = task.lastStatus === "STOPPED";
  const details = [
    { name: "subnetId", value: "subnet-berth" },
    { name: "networkInterfaceId", value: `eni-${task.taskId.slice(0, 17)}` },
  ];
  if (task.privateIPv4Address) details.push({ name: "privateIPv4Address", value: task.privateIPv4Address });
  const status = stopped ? "DELETED" : task.privateIPv4Address ? "ATTACHED" : "PRECREATED";
  return [{ id: attachmentId(task.taskId), type: "ElasticNetworkInterface", status, details }];
}

export function taskView(task: Task, tags: Tag[] = []): TaskWire {
  const view: TaskWire = {
    attachments: attachments(task),
    attributes: [{ name: "ecs.cpu-architecture", value: process.arch === "arm64" ? "arm64" : "x86_64" }],
    availabilityZone: task.availabilityZone,
    clusterArn: task.clusterArn,
    containers: task.containers.map((c) => containerView(task, c)),
    createdAt: epochSeconds(task.createdAt),
    desiredStatus: task.desiredStatus,
    enableExecuteCommand: false,
    group: task.group,
    healthStatus: task.healthStatus,
    lastStatus: task.lastStatus,
    launchType: task.launchType,
    overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...task.overrides } as NonNullable<TaskWire["overrides"]>,
    tags,
    taskArn: task.taskArn,
    taskDefinitionArn: task.taskDefinitionArn,
    version: task.version,
  };
  if (task.launchType === "FARGATE") {
    view.platformVersion = "1.4.0";
    view.platformFamily = "Linux";
    view.ephemeralStorage = { sizeInGiB: 20 };
  }
  return Object.assign(view, defined(optionalFields(task)));
}

type ContainerWire = NonNullable<TaskWire["containers"]>[number];

/** One of the task's containers; its optional fields appear only when they have a value. */
function containerView(task: Task, c: TaskContainer): ContainerWire {
  const container: ContainerWire = {
    containerArn: c.containerArn,
    taskArn: task.taskArn,
    name: c.name,
    image: c.image,
    lastStatus: c.lastStatus,
    networkBindings: c.networkBindings,
    networkInterfaces:
      task.networkMode === "awsvpc" && task.privateIPv4Address
        ? [{ attachmentId: attachmentId(task.taskId), privateIpv4Address: task.privateIPv4Address }]
        : [],
    healthStatus: c.healthStatus,
    cpu: c.cpu,
  };
  const { imageDigest, runtimeId, exitCode, reason, memory, memoryReservation } = c;
  return Object.assign(container, defined({ imageDigest, runtimeId, exitCode, reason, memory, memoryReservation }));
}

/** The task fields the view carries only when they have a value, in the order it adds them. */
function optionalFields(task: Task): Record<string, unknown> {
  return {
    capacityProviderName: task.capacityProviderName,
    containerInstanceArn: task.containerInstanceArn,
    cpu: task.cpu,
    memory: task.memory,
    startedBy: task.startedBy,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    connectivity: task.connectivity,
    connectivityAt: seconds(task.connectivityAt),
    pullStartedAt: seconds(task.pullStartedAt),
    pullStoppedAt: seconds(task.pullStoppedAt),
    startedAt: seconds(task.startedAt),
    stoppingAt: seconds(task.stoppingAt),
    executionStoppedAt: seconds(task.executionStoppedAt),
    stoppedAt: seconds(task.stoppedAt),
  };
}

export function containerInstanceView(instance: ContainerInstance, tasks: readonly Task[]): ContainerInstanceWire {
  const own = tasks.filter((t) => t.lastStatus !== "STOPPED");
  const usedCpu = own.reduce((n, t) => n + t.reservedCpu, 0);
  const usedMemory = own.reduce((n, t) => n + t.reservedMemory, 0);
  const usedPorts = own.flatMap((t) => t.reservedPorts.filter((p) => p.protocol === "tcp").map((p) => p.port));
  return {
    containerInstanceArn: instance.containerInstanceArn,
    ec2InstanceId: instance.ec2InstanceId,
    version: instance.version,
    versionInfo: { agentVersion: instance.agentVersion, agentHash: "berth", dockerVersion: "DockerVersion: 20.10" },
    remainingResources: resourceList(instance.registeredCpu - usedCpu, instance.registeredMemory - usedMemory, [...instance.reservedPorts, ...usedPorts]),
    registeredResources: resourceList(instance.registeredCpu, instance.registeredMemory, instance.reservedPorts),
    status: instance.status,
    agentConnected: instance.agentConnected,
    runningTasksCount: own.filter((t) => t.lastStatus === "RUNNING").length,
    pendingTasksCount: own.filter((t) => t.lastStatus !== "RUNNING" && t.desiredStatus === "RUNNING").length,
    attributes: instance.attributes,
    registeredAt: epochSeconds(instance.registeredAt),
    attachments: [],
    tags: [],
  };
}
