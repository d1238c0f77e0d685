/**
 * `berth logs SERVICE|TASK [--cluster C] [--follow] [--since 10m] [--filter PATTERN]`: a
 * task's or a service's awslogs output, for humans. Finds the log group and stream prefix
 * from the task definition through the ECS API, then reads with FilterLogEvents; --follow
 * polls the way `aws logs tail --follow` does (resume at the newest timestamp, skip events
 * already printed at it).
 */
import { type JsonEndpoint, callJson } from "./signed-client.ts";

const ECS = "AmazonEC2ContainerServiceV20141113";
const LOGS = "Logs_20140328";

export interface LogsCommand {
  target: string;
  cluster: string;
  follow: boolean;
  since: string;
  filter?: string;
  write: (line: string) => void;
  signal?: AbortSignal;
}

interface Source {
  logGroupName: string;
  logStreamNames?: string[];
  logStreamNamePrefix?: string;
}

/** "10m", "2h", "30s", "1d" → ms before now. */
export function sinceMs(since: string, now = Date.now()): number {
  const m = /^(\d+)([smhdw])$/.exec(since);
  if (!m) throw new Error(`--since takes a number and a unit (s, m, h, d, w), e.g. 10m; got ${since}`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "s"];
  return now - Number(m[1]) * unit;
}

type Def = { name: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } };

function awslogs(defs: Def[]): { group: string; prefixes: string[] } {
  const logged = defs.filter((d) => d.logConfiguration?.logDriver === "awslogs" && d.logConfiguration.options?.["awslogs-group"]);
  if (logged.length === 0) throw new Error("its task definition has no container logging with awslogs");
  const group = logged[0]!.logConfiguration!.options!["awslogs-group"]!;
  const prefixes = logged.map((d) => {
    const prefix = d.logConfiguration?.options?.["awslogs-stream-prefix"];
    return prefix ? `${prefix}/${d.name}/` : `${d.name}/`;
  });
  return { group, prefixes };
}

async function definitionOf(api: JsonEndpoint, taskDefinition: string): Promise<Def[]> {
  const out = await callJson<{ taskDefinition: { containerDefinitions: Def[] } }>(api, "ecs", `${ECS}.DescribeTaskDefinition`, { taskDefinition });
  return out.taskDefinition.containerDefinitions;
}

/** A task id or ARN names one task's streams; otherwise the name is a service's. */
async function resolve(api: JsonEndpoint, cmd: LogsCommand): Promise<Source> {
  const tasks = await callJson<{ tasks: { taskArn: string; taskDefinitionArn: string }[] }>(api, "ecs", `${ECS}.DescribeTasks`, {
    cluster: cmd.cluster,
    tasks: [cmd.target],
  });
  const task = tasks.tasks[0];
  if (task) {
    const { group, prefixes } = awslogs(await definitionOf(api, task.taskDefinitionArn));
    const id = task.taskArn.slice(task.taskArn.lastIndexOf("/") + 1);
    return { logGroupName: group, logStreamNames: prefixes.map((p) => `${p}${id}`) };
  }
  const services = await callJson<{ services: { taskDefinition: string }[] }>(api, "ecs", `${ECS}.DescribeServices`, {
    cluster: cmd.cluster,
    services: [cmd.target],
  });
  const service = services.services[0];
  if (!service) throw new Error(`no task or service named ${cmd.target} in cluster ${cmd.cluster}`);
  const { group, prefixes } = awslogs(await definitionOf(api, service.taskDefinition));
  // One prefix per call: the first container's (a service's containers usually share one).
  return { logGroupName: group, logStreamNamePrefix: prefixes[0]! };
}

interface Event {
  timestamp: number;
  message: string;
  logStreamName: string;
  eventId: string;
}

export async function runLogsCommand(api: JsonEndpoint, cmd: LogsCommand): Promise<void> {
  const source = await resolve(api, cmd);
  let startTime = sinceMs(cmd.since);
  let printedAtNewest = new Set<string>();
  for (;;) {
    let nextToken: string | undefined;
    do {
      const page = await callJson<{ events: Event[]; nextToken?: string }>(api, "logs", `${LOGS}.FilterLogEvents`, {
        ...source,
        startTime,
        ...(cmd.filter ? { filterPattern: cmd.filter } : {}),
        ...(nextToken ? { nextToken } : {}),
      });
      for (const e of page.events) {
        if (e.timestamp === startTime && printedAtNewest.has(e.eventId)) continue;
        cmd.write(`${new Date(e.timestamp).toISOString()} ${e.logStreamName} ${e.message}`);
        if (e.timestamp > startTime) {
          startTime = e.timestamp;
          printedAtNewest = new Set();
        }
        printedAtNewest.add(e.eventId);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (!cmd.follow || cmd.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, 1000));
    if (cmd.signal?.aborted) return;
  }
}
