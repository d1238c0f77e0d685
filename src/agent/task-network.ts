/**
 * awsvpc on one host: every task gets a pause container on Berth's task network (a Docker
 * bridge network); the task's containers join its network namespace, so they share
 * localhost and the task has its own IP, as an ENI gives it on ECS.
 */
import type { TaskSpec } from "../protocol/agent-protocol.ts";
import type { ContainerState, Runtime } from "../runtime/runtime.ts";
import { taskLabels } from "./container-config.ts";
import { PAUSE_IMAGE, ensurePauseImage } from "./helper-images.ts";
import type { TaskNetwork } from "./task-runner.ts";

export const TASK_NETWORK = "berth-tasks";
export const TASK_BRIDGE = "berth0";

export async function ensureTaskNetwork(runtime: Runtime): Promise<void> {
  await ensurePauseImage(runtime);
  if (!(await runtime.inspectNetwork(TASK_NETWORK))) {
    await runtime.createNetwork(TASK_NETWORK, { bridgeName: TASK_BRIDGE, labels: { "berth.role": "task-network" } });
  }
}

export function awsvpcNetwork(runtime: Runtime, agentId: string): TaskNetwork {
  return {
    async provision(task: TaskSpec, existing: ContainerState | undefined) {
      let state = existing;
      if (!state) {
        const id = await runtime.createContainer({
          name: `ecs-${task.family}-${task.revision}-pause-${task.taskId.slice(0, 12)}`.replace(/[^a-zA-Z0-9_.-]/g, "-"),
          image: PAUSE_IMAGE,
          labels: taskLabels(task, agentId, "pause"),
          networkMode: TASK_NETWORK,
          init: true,
        });
        await runtime.startContainer(id);
        state = await runtime.inspectContainer(id);
      } else if (!state.running) {
        await runtime.startContainer(state.id);
        state = await runtime.inspectContainer(state.id);
      }
      const ipAddress = state?.networks[TASK_NETWORK]?.ipAddress;
      if (!state || !ipAddress) throw new Error("the task's network interface has no address");
      return { pauseId: state.id, ipAddress };
    },
    async release(pauseId: string) {
      await runtime.stopContainer(pauseId, 2).catch(() => undefined);
      await runtime.removeContainer(pauseId, { force: true }).catch(() => undefined);
    },
  };
}
