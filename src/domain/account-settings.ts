/**
 * ECS account settings: the names, their allowed values and the defaults Berth reports
 * when nothing was set. Berth always uses long ARNs, so those settings are "enabled".
 */
import { invalidParameter } from "../core/errors.ts";

export interface AccountSetting {
  name: string;
  value: string;
  principalArn: string;
  type: "user" | "aws_managed";
}

const ENABLED_DISABLED = ["enabled", "disabled"] as const;

export const ACCOUNT_SETTING_VALUES: Record<string, readonly string[]> = {
  serviceLongArnFormat: ENABLED_DISABLED,
  taskLongArnFormat: ENABLED_DISABLED,
  containerInstanceLongArnFormat: ENABLED_DISABLED,
  awsvpcTrunking: ENABLED_DISABLED,
  containerInsights: ["enhanced", "enabled", "disabled"],
  fargateFIPSMode: ENABLED_DISABLED,
  tagResourceAuthorization: ["on", "off"],
  fargateTaskRetirementWaitPeriod: ["0", "7", "14"],
  guardDutyActivate: ENABLED_DISABLED,
  defaultLogDriverMode: ["blocking", "non-blocking"],
};

export const ACCOUNT_SETTING_DEFAULTS: Record<string, string> = {
  serviceLongArnFormat: "enabled",
  taskLongArnFormat: "enabled",
  containerInstanceLongArnFormat: "enabled",
  awsvpcTrunking: "disabled",
  containerInsights: "disabled",
  fargateFIPSMode: "disabled",
  tagResourceAuthorization: "on",
  fargateTaskRetirementWaitPeriod: "7",
  guardDutyActivate: "disabled",
  // ECS's default since 2025-06-25 (the model's LogConfiguration documentation).
  defaultLogDriverMode: "non-blocking",
};

/** Settings that only the account default may change, not a single principal. */
const ACCOUNT_WIDE_ONLY = new Set(["fargateFIPSMode", "fargateTaskRetirementWaitPeriod", "guardDutyActivate"]);

export function assertAccountSetting(name: string, value: string, forPrincipal: boolean): void {
  const allowed = ACCOUNT_SETTING_VALUES[name];
  if (!allowed) throw invalidParameter(`Unsupported account setting: ${name}`);
  if (!allowed.includes(value)) {
    throw invalidParameter(`Invalid value '${value}' for setting ${name}. Valid values are: ${allowed.join(", ")}.`);
  }
  if (forPrincipal && ACCOUNT_WIDE_ONLY.has(name)) {
    throw invalidParameter(`The ${name} setting can only be changed with PutAccountSettingDefault.`);
  }
}
