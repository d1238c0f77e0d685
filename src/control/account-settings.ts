/**
 * ECS account settings. A setting applies to one principal (PutAccountSetting, optionally
 * for another principalArn) or to the whole account (PutAccountSettingDefault, stored under
 * the account root). The effective value is the principal's, else the account's, else
 * ECS's default.
 */
import { type AccountSetting, ACCOUNT_SETTING_DEFAULTS, assertAccountSetting } from "../domain/account-settings.ts";
import { invalidParameter } from "../core/errors.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { encodeToken, pageRequest } from "./pagination.ts";

export const accountRootArn = (ctx: CallContext): string => `arn:${ctx.scope.partition}:iam::${ctx.scope.accountId}:root`;

export async function putAccountSetting(
  deps: ControlDeps,
  ctx: CallContext,
  name: string,
  value: string,
  principalArn: string | undefined,
): Promise<AccountSetting> {
  assertAccountSetting(name, value, true);
  const setting: AccountSetting = { name, value, principalArn: principalArn ?? ctx.principalArn, type: "user" };
  await deps.store.putAccountSetting(ctx.scope.region, setting);
  return setting;
}

export async function putAccountSettingDefault(
  deps: ControlDeps,
  ctx: CallContext,
  name: string,
  value: string,
): Promise<AccountSetting> {
  assertAccountSetting(name, value, false);
  const setting: AccountSetting = { name, value, principalArn: accountRootArn(ctx), type: "user" };
  await deps.store.putAccountSetting(ctx.scope.region, setting);
  return setting;
}

export async function deleteAccountSetting(
  deps: ControlDeps,
  ctx: CallContext,
  name: string,
  principalArn: string | undefined,
): Promise<AccountSetting> {
  const principal = principalArn ?? ctx.principalArn;
  const current = (await deps.store.getAccountSettings(ctx.scope.region, principal)).find((s) => s.name === name);
  if (!current) throw invalidParameter(`The account setting ${name} is not set for ${principal}.`);
  await deps.store.deleteAccountSetting(ctx.scope.region, principal, name);
  return current;
}

/** A setting's value for the caller: the principal's own, else the account's, else ECS's default. */
export async function effectiveSetting(deps: ControlDeps, ctx: CallContext, name: string): Promise<string> {
  return (await listAccountSettings(deps, ctx, { name, effectiveSettings: true })).settings[0]!.value;
}

export interface ListAccountSettingsCommand {
  name?: string;
  value?: string;
  principalArn?: string;
  effectiveSettings?: boolean;
  nextToken?: string;
  maxResults?: number;
}

export async function listAccountSettings(deps: ControlDeps, ctx: CallContext, cmd: ListAccountSettingsCommand) {
  const page = pageRequest(cmd.nextToken, cmd.maxResults, 10);
  const principal = cmd.principalArn ?? ctx.principalArn;
  const own = await deps.store.getAccountSettings(ctx.scope.region, principal);
  let settings: AccountSetting[] = own;
  if (cmd.effectiveSettings) {
    const account = await deps.store.getAccountSettings(ctx.scope.region, accountRootArn(ctx));
    settings = Object.entries(ACCOUNT_SETTING_DEFAULTS).map(([name, value]) =>
      own.find((s) => s.name === name) ??
      account.find((s) => s.name === name) ?? { name, value, principalArn: accountRootArn(ctx), type: "aws_managed" as const },
    );
  }
  const filtered = settings
    .filter((s) => cmd.name === undefined || s.name === cmd.name)
    .filter((s) => cmd.value === undefined || s.value === cmd.value)
    .sort((a, b) => a.name.localeCompare(b.name));
  const start = page.after === undefined ? 0 : filtered.findIndex((s) => s.name > page.after!);
  const items = start < 0 ? [] : filtered.slice(start, start + page.limit);
  const more = start >= 0 && start + page.limit < filtered.length;
  const out: { settings: AccountSetting[]; nextToken?: string } = { settings: items };
  if (more) out.nextToken = encodeToken(items[items.length - 1]!.name);
  return out;
}
