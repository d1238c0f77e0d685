/**
 * `berth secrets create|put|get|list`: Secrets Manager for humans, as thin wrappers over the
 * public API (CreateSecret, PutSecretValue, GetSecretValue, ListSecrets) signed like any AWS
 * client. A value comes from the command line, a file (--value-file) or standard input; `get`
 * prints the value alone, so `$(berth secrets get NAME)` works in scripts.
 */
import { randomUUID } from "node:crypto";
import { type JsonEndpoint, callJson } from "./signed-client.ts";

const TARGET = "secretsmanager";

export type SecretsAction = "create" | "put" | "get" | "list";

export interface SecretsCommand {
  action: SecretsAction;
  name?: string;
  value?: string;
  description?: string;
  versionStage?: string;
  versionId?: string;
  write: (line: string) => void;
}

export const SECRETS_USAGE = `usage: berth secrets create NAME [VALUE | --value-file F] [--description D]
       berth secrets put NAME [VALUE | --value-file F]
       berth secrets get NAME [--version-stage AWSCURRENT | --version-id ID]
       berth secrets list
  (without VALUE or --value-file, the value is read from standard input)`;

interface ListPage {
  SecretList?: { Name: string; ARN: string; Description?: string; LastChangedDate?: number; DeletedDate?: number }[];
  NextToken?: string;
}

export async function runSecretsCommand(api: JsonEndpoint, cmd: SecretsCommand): Promise<void> {
  const call = <T>(op: string, input: object): Promise<T> => callJson<T>(api, TARGET, `${TARGET}.${op}`, input);
  const need = (what: string | undefined, label: string): string => {
    if (what === undefined || what === "") throw new Error(`${label} is required\n${SECRETS_USAGE}`);
    return what;
  };
  switch (cmd.action) {
    case "create": {
      const out = await call<{ ARN: string; VersionId?: string }>("CreateSecret", {
        Name: need(cmd.name, "NAME"),
        ClientRequestToken: randomUUID(),
        ...(cmd.value !== undefined ? { SecretString: cmd.value } : {}),
        ...(cmd.description !== undefined ? { Description: cmd.description } : {}),
      });
      cmd.write(out.VersionId ? `${out.ARN} (version ${out.VersionId})` : out.ARN);
      return;
    }
    case "put": {
      const out = await call<{ ARN: string; VersionId: string }>("PutSecretValue", {
        SecretId: need(cmd.name, "NAME"),
        ClientRequestToken: randomUUID(),
        SecretString: need(cmd.value, "VALUE"),
      });
      cmd.write(`${out.ARN} (version ${out.VersionId})`);
      return;
    }
    case "get": {
      const out = await call<{ SecretString?: string; SecretBinary?: string }>("GetSecretValue", {
        SecretId: need(cmd.name, "NAME"),
        ...(cmd.versionStage !== undefined ? { VersionStage: cmd.versionStage } : {}),
        ...(cmd.versionId !== undefined ? { VersionId: cmd.versionId } : {}),
      });
      cmd.write(out.SecretString ?? out.SecretBinary ?? "");
      return;
    }
    case "list": {
      let token: string | undefined;
      const rows: string[][] = [];
      do {
        const page: ListPage = await call<ListPage>("ListSecrets", { SortOrder: "asc", ...(token ? { NextToken: token } : {}) });
        for (const s of page.SecretList ?? []) {
          rows.push([s.Name, s.LastChangedDate ? new Date(s.LastChangedDate * 1000).toISOString() : "", s.Description ?? ""]);
        }
        token = page.NextToken;
      } while (token);
      if (rows.length === 0) return;
      const width = Math.max(4, ...rows.map((r) => r[0]!.length));
      cmd.write(`${"NAME".padEnd(width)}  LAST CHANGED              DESCRIPTION`);
      for (const [name, changed, description] of rows) cmd.write(`${name!.padEnd(width)}  ${changed!.padEnd(24)}  ${description}`.trimEnd());
      return;
    }
  }
}
