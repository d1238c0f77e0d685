/**
 * Secrets Manager rotation in Berth: RotationLambdaARN names an ECS task definition, and each
 * of the four steps runs it as a task in the `default` cluster of the secret's region with the
 * Lambda event's fields as environment variables (SecretId, ClientRequestToken, Step) and
 * Berth's endpoints (BERTH_AWS_ENDPOINTS). A step succeeds when every essential container
 * exits 0; the task's own role does the Secrets Manager calls, as a Lambda's would.
 */
import type { CallContext, ControlDeps } from "../control/context.ts";
import { findTaskDefinition } from "../control/task-definitions.ts";
import { type AgentNotifier, runTask } from "../control/tasks.ts";
import type { RotationRunner, RotationStepRequest } from "../domain/secrets.ts";

const STEP_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 500;

export function ecsRotationRunner(deps: ControlDeps, notify: AgentNotifier, cluster = "default"): RotationRunner {
  return {
    async runStep(req: RotationStepRequest): Promise<void> {
      const ctx: CallContext = {
        scope: { partition: "aws", region: req.region, accountId: req.accountId },
        principalArn: `arn:aws:iam::${req.accountId}:root`,
      };
      const environment = [
        { name: "SecretId", value: req.secretArn },
        { name: "ClientRequestToken", value: req.clientRequestToken },
        { name: "Step", value: req.step },
        { name: "BERTH_AWS_ENDPOINTS", value: "true" },
      ];
      const definition = await findTaskDefinition(deps, ctx, req.rotationArn);
      if (!definition) throw new Error(`rotation task definition ${req.rotationArn} does not exist`);
      const containers = (definition.document["containerDefinitions"] as { name: string }[]).map((c) => ({ name: c.name, environment }));
      const awsvpc = definition.document["networkMode"] === "awsvpc";
      const { tasks, failures } = await runTask(deps, notify, ctx, {
        cluster,
        taskDefinition: req.rotationArn,
        startedBy: "secretsmanager-rotation",
        overrides: { containerOverrides: containers },
        ...(awsvpc ? { networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-berth"] } } } : {}),
      });
      const task = tasks[0];
      if (!task) throw new Error(`rotation step ${req.step} could not be placed: ${failures[0]?.reason ?? "no capacity"}`);
      const deadline = deps.clock.now() + STEP_TIMEOUT_MS;
      for (;;) {
        const current = await deps.store.getTask(req.region, task.taskId);
        if (current?.lastStatus === "STOPPED") {
          const bad = current.containers.find((c) => c.essential && c.exitCode !== 0);
          if (!bad) return;
          throw new Error(`rotation step ${req.step} failed: task ${task.taskId} container ${bad.name} exited with ${bad.exitCode ?? current.stoppedReason}`);
        }
        if (deps.clock.now() > deadline) throw new Error(`rotation step ${req.step} timed out (task ${task.taskId})`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}
