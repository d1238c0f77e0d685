import { test } from "node:test";
import assert from "node:assert/strict";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import {
  type ContainerDefinitionInput,
  type HealthCheckInput,
  type RegisterTaskDefinitionInput,
  isFargateSize,
  normalizeTaskDefinition,
  parseTaskCpu,
  parseTaskDefinitionRef,
  parseTaskMemory,
  validateTaskDefinition,
} from "../../src/domain/task-definitions.ts";

/** The task definition from the issue, exactly as a user registers it. */
const SAMPLE: RegisterTaskDefinitionInput = {
  family: "api-blue",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "512",
  memory: "1024",
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  taskRoleArn: "arn:aws:iam::123456789012:role/appTaskRole",
  containerDefinitions: [
    {
      name: "web",
      image: "123456789012.dkr.ecr.ap-south-1.amazonaws.com/api:${GIT_SHA}",
      portMappings: [{ containerPort: 8080, protocol: "tcp" }],
      essential: true,
      linuxParameters: { initProcessEnabled: true },
      environment: [
        { name: "ENV", value: "prod" },
        { name: "LOG_LEVEL", value: "info" },
      ],
      secrets: [
        { name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:ap-south-1:123456789012:secret:prod-db-password" },
      ],
      healthCheck: {
        command: ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"],
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 20,
      },
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": "/ecs/api", "awslogs-region": "ap-south-1", "awslogs-stream-prefix": "web" },
      },
    },
  ],
};

const SAMPLE_WEB = SAMPLE.containerDefinitions[0]!;
const { executionRoleArn: _role, ...SAMPLE_WITHOUT_ROLE } = SAMPLE;
const { secrets: _secrets, logConfiguration: _logs, ...PLAIN_ECR_WEB } = SAMPLE_WEB;

/** The sample with its one container changed. */
const fargate = (web: ContainerDefinitionInput, task: Partial<RegisterTaskDefinitionInput> = {}) => ({
  ...SAMPLE,
  containerDefinitions: [{ ...SAMPLE_WEB, ...web }],
  ...task,
});

const container = (name: string, extra: ContainerDefinitionInput = {}): ContainerDefinitionInput => ({
  name,
  image: "nginx:1.27",
  memory: 256,
  ...extra,
});

/** An EC2 (bridge) definition. */
const ec2 = (
  containers: ContainerDefinitionInput[],
  task: Partial<RegisterTaskDefinitionInput> = {},
): RegisterTaskDefinitionInput => ({ family: "app", containerDefinitions: containers, ...task });

function assertRejects(input: RegisterTaskDefinitionInput, message: string, code: ErrorCode = ErrorCode.Client) {
  assert.throws(
    () => validateTaskDefinition(input),
    (err: unknown) => {
      assert.ok(err instanceof BerthError, `expected a BerthError, got ${String(err)}`);
      assert.equal(err.message, message);
      assert.equal(err.code, code);
      return true;
    },
  );
}

test("the sample from the issue is valid and runs on Fargate and EC2", () => {
  validateTaskDefinition(SAMPLE);
  const normalized = normalizeTaskDefinition(SAMPLE);
  assert.deepEqual(normalized, {
    cpu: "512",
    memory: "1024",
    compatibilities: ["EC2", "FARGATE"],
    requiresAttributes: [
      { name: "com.amazonaws.ecs.capability.docker-remote-api.1.18" },
      { name: "com.amazonaws.ecs.capability.docker-remote-api.1.19" },
      { name: "com.amazonaws.ecs.capability.docker-remote-api.1.29" },
      { name: "com.amazonaws.ecs.capability.logging-driver.awslogs" },
      { name: "ecs.capability.execution-role-awslogs" },
      { name: "com.amazonaws.ecs.capability.task-iam-role" },
      { name: "ecs.capability.task-eni" },
      { name: "ecs.capability.secrets.asm.environment-variables" },
      { name: "ecs.capability.container-health-check" },
    ],
  });
});

test("validation and normalization leave the input untouched", () => {
  const before = structuredClone(SAMPLE);
  validateTaskDefinition(SAMPLE);
  normalizeTaskDefinition(SAMPLE);
  assert.deepEqual(SAMPLE, before);
});

const REJECTED: [string, RegisterTaskDefinitionInput, string][] = [
  ["blank family", ec2([container("web")], { family: "" }), "Family can not be blank."],
  ["family with a space", ec2([container("web")], { family: "my app" }), "Family contains invalid characters."],
  ["family of 256 characters", ec2([container("web")], { family: "f".repeat(256) }), "Family contains invalid characters."],
  ["no containers", ec2([]), "Container list cannot be empty."],
  [
    "eleven containers",
    ec2(Array.from({ length: 11 }, (_, i) => container(`c${i}`))),
    "Too many containers.",
  ],
  ["container without a name", ec2([{ image: "nginx", memory: 64 }]), "Container.name should not be null or empty."],
  ["container with an empty name", ec2([container("")]), "Container.name should not be null or empty."],
  ["container name with a dot", ec2([container("web.1")]), "Container.name contains invalid characters."],
  ["container without an image", ec2([{ name: "web", memory: 64 }]), "Container.image should not be null or empty."],
  ["container with an empty image", ec2([container("web", { image: "" })]), "Container.image should not be null or empty."],
  [
    "duplicate container names",
    ec2([container("web"), container("web")]),
    "Container names must be unique within a task definition.",
  ],
  ["unparsable task cpu", ec2([container("web")], { cpu: "lots" }), "Invalid 'cpu' setting for task."],
  ["empty task cpu", ec2([container("web")], { cpu: "" }), "Invalid 'cpu' setting for task."],
  ["task cpu below 128", ec2([container("web")], { cpu: "64" }), "Invalid 'cpu' setting for task."],
  ["unparsable task memory", ec2([container("web")], { memory: "1TB" }), "Invalid 'memory' setting for task."],
  ["Fargate on bridge", fargate({}, { networkMode: "bridge" }), "Fargate only supports network mode 'awsvpc'."],
  [
    "Fargate and EC2 on host networking",
    fargate({}, { networkMode: "host", requiresCompatibilities: ["EC2", "FARGATE"] }),
    "Fargate only supports network mode 'awsvpc'.",
  ],
  [
    "Fargate without a network mode",
    { family: "f", requiresCompatibilities: ["FARGATE"], cpu: "256", memory: "512", containerDefinitions: [container("web")] },
    "Fargate only supports network mode 'awsvpc'.",
  ],
  [
    "Fargate without task cpu",
    { family: "f", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], memory: "1024", containerDefinitions: [container("web")] },
    "Fargate requires that 'cpu' be defined at the task level.",
  ],
  [
    "Fargate without task memory",
    { family: "f", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], cpu: "256", containerDefinitions: [container("web")] },
    "Fargate requires that 'memory' be defined at the task level.",
  ],
  [
    "Fargate size that does not exist",
    fargate({}, { cpu: "512", memory: "8192" }),
    "No Fargate configuration exists for given values: 512 CPU, 8192 memory. See the Amazon ECS documentation for the valid values.",
  ],
  [
    "Fargate size given in vCPU and GB is reported in units and MiB",
    fargate({}, { cpu: "1 vCPU", memory: "16GB" }),
    "No Fargate configuration exists for given values: 1024 CPU, 16384 memory. See the Amazon ECS documentation for the valid values.",
  ],
  ["Fargate with ipcMode", fargate({}, { ipcMode: "task" }), "Tasks using the Fargate launch type do not support ipcMode."],
  [
    "Fargate with a privileged container",
    fargate({ privileged: true }),
    "Tasks using the Fargate launch type do not support privileged mode.",
  ],
  [
    "Fargate with a host path volume",
    fargate({}, { volumes: [{ name: "docker", host: { sourcePath: "/var/run/docker.sock" } }] }),
    "Tasks using the Fargate launch type do not support host volumes with a sourcePath.",
  ],
  [
    "Fargate with awslogs and no execution role",
    SAMPLE_WITHOUT_ROLE,
    "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
  ],
  [
    "Fargate with an ECR image and no execution role",
    { ...SAMPLE_WITHOUT_ROLE, containerDefinitions: [PLAIN_ECR_WEB] },
    "Fargate requires task definition to have execution role ARN to support ECR images.",
  ],
  [
    "secrets without an execution role",
    ec2([container("web", { secrets: [{ name: "A", valueFrom: "arn:aws:ssm:us-east-1:1:parameter/a" }] })]),
    "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
  ],
  [
    "EC2 container without memory or reservation",
    ec2([container("web"), { name: "sidecar", image: "busybox" }]),
    "Invalid setting for container 'sidecar'. At least one of 'memory' or 'memoryReservation' must be specified.",
  ],
  [
    "container memory below 6 MiB",
    ec2([container("web", { memory: 5 })]),
    "Invalid 'memory' setting for container 'web'. Minimum memory is 6 MiB.",
  ],
  [
    "reservation above the hard limit",
    ec2([container("web", { memory: 128, memoryReservation: 256 })]),
    "Invalid setting for container 'web'. The 'memoryReservation' value must be less than or equal to the 'memory' value.",
  ],
  [
    "container memory above the task's",
    ec2([container("web", { memory: 2048 })], { memory: "1GB" }),
    "The 'memory' setting for container 'web' is greater than for the task.",
  ],
  [
    "container cpu sum above the task's",
    ec2([container("a", { cpu: 512 }), container("b", { cpu: 513 })], { cpu: "1 vCPU" }),
    "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
  ],
  [
    "awsvpc host port differs",
    ec2([container("web", { portMappings: [{ containerPort: 80, hostPort: 8080 }] })], { networkMode: "awsvpc" }),
    "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
  ],
  [
    "host host port differs",
    ec2([container("web", { portMappings: [{ containerPort: 80, hostPort: 0 }] })], { networkMode: "host" }),
    "When networkMode=host, the host ports and container ports in port mappings must match.",
  ],
  [
    "awslogs without options",
    ec2([container("web", { logConfiguration: { logDriver: "awslogs" } })]),
    "Log driver awslogs requires options: awslogs-region, awslogs-group",
  ],
  [
    "awslogs without a group",
    ec2([container("web", { logConfiguration: { logDriver: "awslogs", options: { "awslogs-region": "eu-west-1" } } })]),
    "Log driver awslogs requires options: awslogs-group",
  ],
  [
    "awslogs without a region",
    ec2([container("web", { logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/web" } } })]),
    "Log driver awslogs requires options: awslogs-region",
  ],
  [
    "dependency on an unknown container",
    ec2([container("web", { dependsOn: [{ containerName: "db", condition: "START" }] })]),
    "Container 'web' has a dependency on an unknown container 'db'.",
  ],
  [
    "COMPLETE on an essential container",
    ec2([container("web", { dependsOn: [{ containerName: "init", condition: "COMPLETE" }] }), container("init")]),
    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
  ],
  [
    "SUCCESS on a container essential by default",
    ec2([container("web", { dependsOn: [{ containerName: "init", condition: "SUCCESS" }] }), container("init")]),
    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
  ],
  [
    "no essential container",
    ec2([container("a", { essential: false }), container("b", { essential: false })]),
    "Task definition does not have any essential container.",
  ],
  [
    "dependency cycle",
    ec2([
      container("a", { dependsOn: [{ containerName: "b", condition: "START" }] }),
      container("b", { dependsOn: [{ containerName: "a", condition: "HEALTHY" }] }),
    ]),
    "Container 'a' has a circular dependency.",
  ],
  [
    "container depending on itself",
    ec2([container("a", { dependsOn: [{ containerName: "a", condition: "START" }] })]),
    "Container 'a' has a circular dependency.",
  ],
];

const healthCheck = (check: Partial<HealthCheckInput>) =>
  ec2([container("web", { healthCheck: { command: ["CMD", "true"], ...check } })]);
const HEALTH = "Invalid 'healthCheck' setting for container 'web'.";
REJECTED.push(
  ["health check without CMD", healthCheck({ command: ["curl", "-f", "localhost"] }), `${HEALTH} 'command' must start with CMD, CMD-SHELL or NONE.`],
  ["empty health check command", healthCheck({ command: [] }), `${HEALTH} 'command' must start with CMD, CMD-SHELL or NONE.`],
  ["health check interval 4", healthCheck({ interval: 4 }), `${HEALTH} 'interval' must be between 5 and 300.`],
  ["health check interval 301", healthCheck({ interval: 301 }), `${HEALTH} 'interval' must be between 5 and 300.`],
  ["health check timeout 1", healthCheck({ timeout: 1 }), `${HEALTH} 'timeout' must be between 2 and 60.`],
  ["health check timeout 61", healthCheck({ timeout: 61 }), `${HEALTH} 'timeout' must be between 2 and 60.`],
  ["health check retries 0", healthCheck({ retries: 0 }), `${HEALTH} 'retries' must be between 1 and 10.`],
  ["health check retries 11", healthCheck({ retries: 11 }), `${HEALTH} 'retries' must be between 1 and 10.`],
  ["health check startPeriod -1", healthCheck({ startPeriod: -1 }), `${HEALTH} 'startPeriod' must be between 0 and 300.`],
  ["health check startPeriod 301", healthCheck({ startPeriod: 301 }), `${HEALTH} 'startPeriod' must be between 0 and 300.`],
);

for (const [title, input, message] of REJECTED) {
  test(`rejects ${title}`, () => assertRejects(input, message));
}

const ACCEPTED: [string, RegisterTaskDefinitionInput][] = [
  ["a minimal EC2 definition", ec2([container("web")])],
  ["a family of 255 characters", ec2([container("web")], { family: "F_-9".repeat(63) + "abc" })],
  ["ten containers", ec2(Array.from({ length: 10 }, (_, i) => container(`c${i}`)))],
  ["only a memory reservation", ec2([{ name: "web", image: "nginx", memoryReservation: 128 }])],
  ["task memory instead of container memory", ec2([{ name: "web", image: "nginx" }], { memory: "512" })],
  ["container memory equal to the task's", ec2([container("web", { memory: 1024 })], { memory: "1 GB" })],
  ["cpu sum equal to the task's", ec2([container("a", { cpu: 512 }), container("b", { cpu: 512 })], { cpu: "1024" })],
  ["bridge with a different host port", ec2([container("web", { portMappings: [{ containerPort: 80, hostPort: 8080 }] })])],
  ["bridge with a dynamic host port", ec2([container("web", { portMappings: [{ containerPort: 80, hostPort: 0 }] })])],
  [
    "awsvpc with matching or omitted host ports",
    ec2([container("web", { portMappings: [{ containerPort: 80, hostPort: 80 }, { containerPort: 443 }] })], { networkMode: "awsvpc" }),
  ],
  ["a non-awslogs driver without options", ec2([container("web", { logConfiguration: { logDriver: "json-file" } })])],
  [
    "SUCCESS on a non-essential container",
    ec2([container("web", { dependsOn: [{ containerName: "init", condition: "SUCCESS" }] }), container("init", { essential: false })]),
  ],
  ["health checks at every lower bound", healthCheck({ interval: 5, timeout: 2, retries: 1, startPeriod: 0 })],
  ["health checks at every upper bound", healthCheck({ interval: 300, timeout: 60, retries: 10, startPeriod: 300 })],
  ["a NONE health check", healthCheck({ command: ["NONE"] })],
  [
    "duplicate environment names",
    ec2([container("web", { environment: [{ name: "A", value: "1" }, { name: "A", value: "2" }] })]),
  ],
  ["an EC2 definition with a host volume", ec2([container("web")], { volumes: [{ name: "v", host: { sourcePath: "/data" } }] })],
  ["Fargate with bind-mount volumes", fargate({}, { volumes: [{ name: "scratch", host: {} }] })],
];

for (const [title, input] of ACCEPTED) {
  test(`accepts ${title}`, () => validateTaskDefinition(input));
}

test("parseTaskCpu reads CPU units and vCPUs", () => {
  const cases: [string, number][] = [
    ["256", 256], ["1024", 1024], ["1 vCPU", 1024], ["1vcpu", 1024], ["0.5 vcpu", 512], ["2 vCPU", 2048],
    [".25 VCPU", 256], ["0.125 vCPU", 128], ["128", 128], ["196608", 196_608], ["192 vCPU", 196_608],
  ];
  for (const [text, units] of cases) assert.equal(parseTaskCpu(text), units, text);
});

test("parseTaskCpu rejects anything else", () => {
  for (const text of ["", "abc", "-1", "127", "196609", "0.1 vCPU", "1.5", "1 cpu", "1 vCPUs", "1e3", "0"]) {
    assert.throws(() => parseTaskCpu(text), { code: ErrorCode.Client, message: "Invalid 'cpu' setting for task." }, text);
  }
});

test("parseTaskMemory reads MiB and GB", () => {
  const cases: [string, number][] = [
    ["512", 512], ["1GB", 1024], ["1 GB", 1024], ["2gb", 2048], ["0.5GB", 512], ["120 GB", 122_880],
  ];
  for (const [text, mib] of cases) assert.equal(parseTaskMemory(text), mib, text);
});

test("parseTaskMemory rejects anything else", () => {
  for (const text of ["", "0", "-512", "1TB", "1.5", "512MiB", "0.0001GB", "GB", "1 G B"]) {
    assert.throws(() => parseTaskMemory(text), { code: ErrorCode.Client, message: "Invalid 'memory' setting for task." }, text);
  }
});

/** cpu, memory values Fargate offers at the edges of each row, and neighbours it does not. */
const FARGATE_ROWS: { cpu: number; valid: number[]; invalid: number[] }[] = [
  { cpu: 256, valid: [512, 1024, 2048], invalid: [256, 768, 1536, 3072] },
  { cpu: 512, valid: [1024, 2048, 4096], invalid: [512, 1536, 5120] },
  { cpu: 1024, valid: [2048, 3072, 8192], invalid: [1024, 2560, 9216] },
  { cpu: 2048, valid: [4096, 5120, 16_384], invalid: [3072, 4608, 17_408] },
  { cpu: 4096, valid: [8192, 9216, 30_720], invalid: [7168, 8704, 31_744] },
  { cpu: 8192, valid: [16_384, 20_480, 61_440], invalid: [12_288, 17_408, 65_536] },
  { cpu: 16_384, valid: [32_768, 40_960, 122_880], invalid: [24_576, 36_864, 131_072] },
];

test("isFargateSize follows the Fargate table at every row's boundaries", () => {
  for (const { cpu, valid, invalid } of FARGATE_ROWS) {
    for (const memory of valid) assert.equal(isFargateSize(cpu, memory), true, `${cpu}/${memory}`);
    for (const memory of invalid) assert.equal(isFargateSize(cpu, memory), false, `${cpu}/${memory}`);
  }
  for (const [cpu, memory] of [[128, 512], [768, 2048], [3072, 8192], [32_768, 65_536]] as const) {
    assert.equal(isFargateSize(cpu, memory), false, `${cpu}/${memory}`);
  }
});

test("Fargate registration accepts each row's edges and rejects the next step", () => {
  for (const { cpu, valid, invalid } of FARGATE_ROWS) {
    for (const memory of valid) validateTaskDefinition(fargate({}, { cpu: String(cpu), memory: String(memory) }));
    const over = invalid[invalid.length - 1]!;
    assertRejects(
      fargate({}, { cpu: String(cpu), memory: String(over) }),
      `No Fargate configuration exists for given values: ${cpu} CPU, ${over} memory. See the Amazon ECS documentation for the valid values.`,
    );
  }
});

test("normalize turns vCPU and GB into integer strings", () => {
  const normalized = normalizeTaskDefinition(fargate({}, { cpu: "1 vCPU", memory: "2GB" }));
  assert.equal(normalized.cpu, "1024");
  assert.equal(normalized.memory, "2048");
});

test("a bridge definition is EC2-only and needs only the base attribute", () => {
  assert.deepEqual(normalizeTaskDefinition(ec2([container("web")])), {
    compatibilities: ["EC2"],
    requiresAttributes: [{ name: "com.amazonaws.ecs.capability.docker-remote-api.1.18" }],
  });
});

test("compatibilities report where the definition can run", () => {
  const awsvpc = { networkMode: "awsvpc", cpu: "256", memory: "512" };
  const cases: [string, RegisterTaskDefinitionInput, string[]][] = [
    ["awsvpc with a Fargate size, not requested", ec2([container("web")], awsvpc), ["EC2", "FARGATE"]],
    ["awsvpc with a size Fargate lacks", ec2([container("web")], { ...awsvpc, memory: "768" }), ["EC2"]],
    ["awsvpc without a task size", ec2([container("web")], { networkMode: "awsvpc" }), ["EC2"]],
    ["a privileged container", ec2([container("web", { privileged: true })], awsvpc), ["EC2"]],
    ["a host path volume", ec2([container("web")], { ...awsvpc, volumes: [{ host: { sourcePath: "/d" } }] }), ["EC2"]],
    ["EXTERNAL requested", ec2([container("web")], { requiresCompatibilities: ["EXTERNAL"] }), ["EC2", "EXTERNAL"]],
    [
      "EXTERNAL and Fargate-ready",
      ec2([container("web")], { ...awsvpc, requiresCompatibilities: ["EXTERNAL", "FARGATE"] }),
      ["EC2", "FARGATE", "EXTERNAL"],
    ],
  ];
  for (const [title, input, expected] of cases) {
    assert.deepEqual(normalizeTaskDefinition(input).compatibilities, expected, title);
  }
});

test("requiresAttributes follow secrets sources and container ordering", () => {
  const input = ec2(
    [
      container("web", {
        dependsOn: [{ containerName: "init", condition: "SUCCESS" }],
        secrets: [{ name: "A", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/a" }, { name: "B", valueFrom: "plain-name" }],
      }),
      container("init", { essential: false }),
    ],
    { executionRoleArn: "arn:aws:iam::123456789012:role/exec" },
  );
  assert.deepEqual(
    normalizeTaskDefinition(input).requiresAttributes.map((a) => a.name),
    [
      "com.amazonaws.ecs.capability.docker-remote-api.1.18",
      "ecs.capability.secrets.ssm.environment-variables",
      "ecs.capability.container-ordering",
    ],
  );
});

test("parseTaskDefinitionRef reads families, revisions and ARNs", () => {
  const cases: [string, { family: string; revision?: number }][] = [
    ["api-blue", { family: "api-blue" }],
    ["api-blue:3", { family: "api-blue", revision: 3 }],
    ["api_blue:03", { family: "api_blue", revision: 3 }],
    ["arn:aws:ecs:ap-south-1:123456789012:task-definition/api-blue:3", { family: "api-blue", revision: 3 }],
    ["arn:aws:ecs:ap-south-1:123456789012:task-definition/api-blue", { family: "api-blue" }],
    ["arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/web:12", { family: "web", revision: 12 }],
  ];
  for (const [ref, expected] of cases) assert.deepEqual(parseTaskDefinitionRef(ref), expected, ref);
});

test("parseTaskDefinitionRef rejects malformed references", () => {
  const badRef = (ref: string) =>
    `Invalid task definition '${ref}'. Specify a family, family:revision, or a full task definition ARN.`;
  const cases: [string, string][] = [
    ["", badRef("")],
    [":3", badRef(":3")],
    ["api blue", badRef("api blue")],
    ["api:3:4", badRef("api:3:4")],
    ["arn:aws:ecs:us-east-1:123456789012:cluster/default", badRef("arn:aws:ecs:us-east-1:123456789012:cluster/default")],
    ["arn:aws:s3:::task-definition/x", badRef("arn:aws:s3:::task-definition/x")],
    ["arn:aws:ecs:us-east-1:123456789012:task-definition/", badRef("arn:aws:ecs:us-east-1:123456789012:task-definition/")],
    ["api:0", "Invalid revision number. Number: 0"],
    ["api:latest", "Invalid revision number. Number: latest"],
    ["api:-1", "Invalid revision number. Number: -1"],
    ["api:", "Invalid revision number. Number: "],
    ["api:99999999999999999999", "Invalid revision number. Number: 99999999999999999999"],
  ];
  for (const [ref, message] of cases) {
    assert.throws(() => parseTaskDefinitionRef(ref), { code: ErrorCode.InvalidParameter, message }, ref);
  }
});
