/**
 * A host's agent as the control plane knows it: what it offers and whether it is connected.
 * FARGATE tasks of any cluster may be placed on agents with `fargate`; EC2 and EXTERNAL tasks
 * only on the agent behind a container instance of the task's cluster.
 */
export interface AgentRecord {
  agentId: string;
  hostname: string;
  agentVersion: string;
  cpu: number;
  memoryMiB: number;
  fargate: boolean;
  attributes: Record<string, string>;
  /** The container instance it registered, when it joined a cluster. */
  region?: string;
  clusterName?: string;
  containerInstanceArn?: string;
  connected: boolean;
  lastSeenAt: number;
  registeredAt: number;
}
