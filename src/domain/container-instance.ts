/**
 * Container instances: a host's agent registered into a cluster, with the resources it
 * offers (CPU units, memory MiB, ports) and its attributes. Remaining resources are derived
 * from the tasks placed on it; `agentConnected` follows the agent's heartbeats.
 */

export type ContainerInstanceStatus = "ACTIVE" | "DRAINING" | "REGISTERING" | "DEREGISTERING" | "INACTIVE";

export interface Attribute {
  name: string;
  value?: string;
  targetType?: "container-instance";
  targetId?: string;
}

export interface ContainerInstance {
  region: string;
  containerInstanceArn: string;
  id: string;
  clusterName: string;
  agentId: string;
  ec2InstanceId: string;
  status: ContainerInstanceStatus;
  statusReason?: string;
  agentConnected: boolean;
  agentVersion: string;
  hostname: string;
  registeredCpu: number;
  registeredMemory: number;
  /** Host ports reserved outside tasks (22, the API port, …). */
  reservedPorts: number[];
  attributes: Attribute[];
  registeredAt: number;
  lastHeartbeatAt: number;
  version: number;
}

/** The ECS Resource list shape for registered or remaining resources. */
export function resourceList(cpu: number, memory: number, ports: number[]) {
  return [
    { name: "CPU", type: "INTEGER", integerValue: cpu, doubleValue: 0, longValue: 0 },
    { name: "MEMORY", type: "INTEGER", integerValue: memory, doubleValue: 0, longValue: 0 },
    { name: "PORTS", type: "STRINGSET", stringSetValue: ports.map(String), doubleValue: 0, longValue: 0, integerValue: 0 },
    { name: "PORTS_UDP", type: "STRINGSET", stringSetValue: [] as string[], doubleValue: 0, longValue: 0, integerValue: 0 },
  ];
}
