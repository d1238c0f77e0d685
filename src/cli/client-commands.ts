/**
 * The client commands from the parsed command line: `berth env`, `berth secrets`, `berth lb`
 * and `berth logs`, the ones that reach a running Berth through its public API (or, for `env`,
 * tell a shell how to). Owns turning positionals and flags into each command's options (a
 * secret's value from the line, --value-file or standard input; Ctrl-C ending `logs --follow`)
 * and their usage errors.
 *
 * Never reads the data dir, the server's state file or its identity: the entry point resolves
 * the endpoint (URL, region, admin key) and lends it here, so cli/ imports nothing of server/.
 * Never exits the process itself; it ends a command through the entry point's `fail`.
 */
import { readFileSync } from "node:fs";
import { runLbCommand } from "./lb-command.ts";
import { runLogsCommand } from "./logs-command.ts";
import { SECRETS_USAGE, type SecretsAction, runSecretsCommand } from "./secrets-command.ts";
import type { JsonEndpoint } from "./signed-client.ts";

/** The flags the client commands read, as node:util's parseArgs gives them. */
export interface ClientFlags {
  cluster?: string | undefined;
  follow?: boolean | undefined;
  since?: string | undefined;
  filter?: string | undefined;
  "value-file"?: string | undefined;
  description?: string | undefined;
  "version-stage"?: string | undefined;
  "version-id"?: string | undefined;
}

/** What the entry point lends a client command. */
export interface ClientCommandLine {
  /** As parsed: the command's name first. */
  positionals: string[];
  flags: ClientFlags;
  /**
   * The running Berth's API with the admin key. Called only once the arguments are checked:
   * it creates the data dir's identity on first use, and fails on a bad --port.
   */
  endpoint: () => JsonEndpoint;
  write: (line: string) => void;
  fail: (message: string) => never;
}

/** Endpoint variables: one per service, as the AWS SDKs and CLI ≥ 2.13 read them. */
const ENDPOINT_VARIABLES = [
  "ECS",
  "STS",
  "CLOUDWATCH_LOGS",
  "SECRETS_MANAGER",
  "SSM",
  "ELASTIC_LOAD_BALANCING_V2",
  "APPLICATION_AUTO_SCALING",
  "SERVICEDISCOVERY",
  "IAM",
];

/** `berth env`: the admin key, region and endpoints as shell exports. */
export function runEnv(cli: ClientCommandLine): void {
  const { url, region, credentials } = cli.endpoint();
  const lines = [
    `export AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY='${credentials.secretAccessKey}'`,
    "unset AWS_SESSION_TOKEN",
    `export AWS_REGION=${region}`,
    `export AWS_DEFAULT_REGION=${region}`,
    `export BERTH_ENDPOINT=${url}`,
    ...ENDPOINT_VARIABLES.map((name) => `export AWS_ENDPOINT_URL_${name}=${url}`),
  ];
  cli.write(lines.join("\n"));
}

/** `berth secrets create|put|get|list`: through the public Secrets Manager API, with the admin key. */
export async function runSecrets(cli: ClientCommandLine): Promise<void> {
  const { positionals, flags } = cli;
  const action = positionals[1];
  if (action !== "create" && action !== "put" && action !== "get" && action !== "list") cli.fail(SECRETS_USAGE);
  let value = positionals[3];
  if (flags["value-file"] !== undefined) value = readFileSync(flags["value-file"], "utf8");
  else if (value === undefined && (action === "create" || action === "put") && !process.stdin.isTTY) value = readFileSync(0, "utf8");
  const endpoint = cli.endpoint();
  try {
    await runSecretsCommand(endpoint, {
      action: action as SecretsAction,
      ...(positionals[2] !== undefined ? { name: positionals[2] } : {}),
      ...(value !== undefined ? { value } : {}),
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      ...(flags["version-stage"] !== undefined ? { versionStage: flags["version-stage"] } : {}),
      ...(flags["version-id"] !== undefined ? { versionId: flags["version-id"] } : {}),
      write: cli.write,
    });
  } catch (error) {
    cli.fail((error as Error).message);
  }
}

/** `berth lb`: load balancers, listeners (with their local addresses), rules and target health. */
export async function runLb(cli: ClientCommandLine): Promise<void> {
  const endpoint = cli.endpoint();
  try {
    await runLbCommand(endpoint, { write: cli.write });
  } catch (error) {
    cli.fail((error as Error).message);
  }
}

/** `berth logs TASK|SERVICE`: through the public ECS and Logs APIs, with the admin key. */
export async function runLogs(cli: ClientCommandLine): Promise<void> {
  const { positionals, flags } = cli;
  const target = positionals[1];
  if (!target) cli.fail("usage: berth logs TASK|SERVICE [--cluster default] [--follow] [--since 10m] [--filter PATTERN] [--region R]");
  const endpoint = cli.endpoint();
  const abort = new AbortController();
  process.on("SIGINT", () => abort.abort());
  try {
    await runLogsCommand(endpoint, {
      target,
      cluster: flags.cluster ?? "default",
      follow: flags.follow ?? false,
      since: flags.since ?? "10m",
      ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
      write: cli.write,
      signal: abort.signal,
    });
  } catch (error) {
    cli.fail((error as Error).message);
  }
}
