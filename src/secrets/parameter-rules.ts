/**
 * Parameter Store's rules, pure: names and paths, values per tier, data types, labels, what
 * PutParameter checks and carries over from the version it overwrites, and the
 * DescribeParameters / GetParametersByPath filters, with the messages Parameter Store gives.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { ParameterStringFilter, ParameterTier, ParameterType, PutParameterInput } from "../domain/secrets.ts";
import type { ParameterVersionRow } from "./parameter-rows.ts";

const validation = (message: string): BerthError => new BerthError(ErrorCode.Validation, message);

const PATH_RULES =
  "If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

export const MAX_LEVELS = 15;
export const MAX_VERSIONS = 100;
export const MAX_LABELS = 10;

export function checkParameterName(name: string): void {
  const lower = name.toLowerCase();
  if (name.includes("/")) {
    if (!name.startsWith("/")) throw validation("Parameter name must be a fully qualified name.");
    if (/^\/aws(\/|$)/.test(lower)) throw new BerthError(ErrorCode.AccessDenied, `No access to reserved parameter name: ${name}.`);
    if (lower.startsWith("/ssm")) throw validation(`Parameter name: can't be prefixed with "ssm" (case-insensitive). ${PATH_RULES}`);
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(name)) throw validation(`Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). ${PATH_RULES}`);
    if (name.split("/").length - 1 > MAX_LEVELS) {
      throw new BerthError(ErrorCode.HierarchyLevelLimitExceeded, `A hierarchy can have a maximum of ${MAX_LEVELS} levels.`);
    }
  } else {
    if (lower.startsWith("aws") || lower.startsWith("ssm")) throw validation(`Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw validation(`Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). ${PATH_RULES}`);
  }
  if (name.length > 1011) throw validation("Parameter name: the name can be at most 1011 characters long.");
}

const PATH_REQUIREMENTS =
  'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.';

/** A path for GetParametersByPath or a Path filter: "/" or "/a/b" (a trailing "/" is dropped). */
export function normalizePath(path: string): string {
  if (path === "/") return path;
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(trimmed)) throw validation(PATH_REQUIREMENTS);
  if (trimmed.split("/").length - 1 > MAX_LEVELS) {
    throw new BerthError(ErrorCode.HierarchyLevelLimitExceeded, `A hierarchy can have a maximum of ${MAX_LEVELS} levels.`);
  }
  return trimmed;
}

/** Whether `name` lies under `path` (one level, or anywhere below when recursive). Plain names live under "/". */
export function underPath(name: string, path: string, recursive: boolean): boolean {
  const full = name.startsWith("/") ? name : `/${name}`;
  const prefix = path === "/" ? "/" : `${path}/`;
  if (!full.startsWith(prefix)) return false;
  return recursive || !full.slice(prefix.length).includes("/");
}

export const STANDARD_MAX = 4096;
export const ADVANCED_MAX = 8192;

/** The tier a value is stored in: Intelligent-Tiering picks Standard when the value fits. */
export function effectiveTier(requested: ParameterTier | undefined, previous: ParameterTier | undefined, value: string, hasPolicies: boolean): ParameterTier {
  const wanted = requested ?? previous ?? "Standard";
  if (previous === "Advanced" && wanted === "Standard") {
    throw validation(
      "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
    );
  }
  const tier: ParameterTier = wanted === "Intelligent-Tiering" ? (value.length > STANDARD_MAX || hasPolicies || previous === "Advanced" ? "Advanced" : "Standard") : wanted;
  if (tier === "Standard" && value.length > STANDARD_MAX) {
    throw validation(
      "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.",
    );
  }
  if (value.length > ADVANCED_MAX) throw validation("Advanced tier parameters support a maximum parameter value of 8192 characters.");
  return tier;
}

const DATA_TYPES = new Set(["text", "aws:ec2:image", "aws:ssm:integration"]);

export function checkDataType(dataType: string): void {
  if (!DATA_TYPES.has(dataType)) throw validation(`The following data type is not supported: ${dataType} (Data type names are all lowercase.)`);
}

/** Java-style full match of AllowedPattern; a pattern JavaScript cannot compile is refused. */
export function checkAllowedPattern(pattern: string, value: string | undefined): void {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`, "u");
  } catch {
    throw new BerthError(ErrorCode.InvalidAllowedPattern, `The allowed pattern ${pattern} is not a valid regular expression.`);
  }
  if (value !== undefined && !re.test(value)) {
    throw new BerthError(ErrorCode.ParameterPatternMismatch, `Parameter value, cannot be validated against allowedPattern: ${pattern}`);
  }
}

/** A label may not start with aws/ssm or a digit and uses letters, digits, ".", "-" and "_". */
export function validLabel(label: string): boolean {
  const lower = label.toLowerCase();
  return !lower.startsWith("aws") && !lower.startsWith("ssm") && !/^\d/.test(label) && /^[A-Za-z0-9_.-]{1,100}$/.test(label);
}

/** The fields a ParameterStringFilter tests. */
export interface FilterSubject {
  name: string;
  type: ParameterType;
  keyId?: string;
  tier: ParameterTier;
  dataType: string;
  labels: string[];
  tags: { key: string; value: string }[];
}

const TYPES = ["String", "StringList", "SecureString"];
const TIERS = ["Standard", "Advanced", "Intelligent-Tiering"];

/**
 * Checks ParameterFilters for DescribeParameters (`describe`) or GetParametersByPath and returns
 * the predicate. Path filters are returned apart for the caller to apply.
 */
export function compileFilters(filters: ParameterStringFilter[], mode: "describe" | "by-path"): (s: FilterSubject) => boolean {
  const allowed = mode === "describe" ? ["Path", "Name", "Type", "KeyId", "Tier", "DataType"] : ["Type", "KeyId", "Label"];
  const seen = new Set<string>();
  const tests: ((s: FilterSubject) => boolean)[] = [];
  for (const f of filters) {
    const isTag = f.key.startsWith("tag:");
    if (!isTag && !allowed.includes(f.key)) {
      const listed = mode === "describe" ? "[Path, Name, Type, KeyId, Tier]" : "[Type, KeyId]";
      throw new BerthError(ErrorCode.InvalidFilterKey, `The following filter key is not valid: ${f.key}. Valid filter keys include: ${listed}.`);
    }
    if (seen.has(f.key)) {
      throw validation(`The following filter is duplicated in the request: ${f.key}. A request can contain only one occurrence of a specific filter.`);
    }
    seen.add(f.key);
    const values = f.values ?? [];
    if (values.length === 0 && !isTag) throw validation(`The following filter values are missing : null for filter key ${f.key}`);
    tests.push(compileOne(f.key, f.option, values, isTag));
  }
  return (s) => tests.every((t) => t(s));
}

function compileOne(key: string, option: string | undefined, values: string[], isTag: boolean): (s: FilterSubject) => boolean {
  const options = key === "Path" ? ["Recursive", "OneLevel"] : key === "Name" || isTag ? ["BeginsWith", "Equals"] : ["Equals", "BeginsWith"];
  const opt = option ?? (key === "Path" ? "OneLevel" : "Equals");
  if (!options.includes(opt) || (!isTag && key !== "Name" && key !== "Path" && key !== "Type" && opt !== "Equals")) {
    const listed = key === "Path" ? "[Recursive, OneLevel]" : key === "Name" || isTag || key === "Type" ? "[BeginsWith, Equals]" : "[Equals]";
    throw new BerthError(ErrorCode.InvalidFilterOption, `The following filter option is not valid: ${opt}. Valid options include: ${listed}.`);
  }
  const match = (actual: string | undefined): boolean =>
    actual !== undefined && values.some((v) => (opt === "BeginsWith" ? actual.startsWith(v) : actual === v));
  const oneOf = (valid: string[]): void => {
    for (const v of values) {
      if (!valid.includes(v)) throw new BerthError(ErrorCode.InvalidFilterValue, `The following filter value is not valid: ${v}. Valid values include: [${valid.join(", ")}]`);
    }
  };
  if (isTag) {
    const tagKey = key.slice(4);
    return (s) => s.tags.some((t) => t.key === tagKey && (values.length === 0 || match(t.value)));
  }
  switch (key) {
    case "Path": {
      const paths = values.map((v) => {
        if (/^\/(aws|ssm)/i.test(v)) throw validation('Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
        return normalizePath(v);
      });
      return (s) => paths.some((p) => underPath(s.name, p, opt === "Recursive"));
    }
    case "Name":
      return (s) => values.some((v) => {
        const want = v.startsWith("/") || !s.name.startsWith("/") ? v : `/${v}`;
        return opt === "BeginsWith" ? s.name.startsWith(want) : s.name === want;
      });
    case "Type":
      oneOf(TYPES);
      return (s) => match(s.type);
    case "Tier":
      oneOf(TIERS);
      return (s) => match(s.tier);
    case "KeyId":
      return (s) => match(s.keyId);
    case "DataType":
      return (s) => match(s.dataType);
    default:
      return (s) => s.labels.some((l) => values.includes(l));
  }
}

const DEFAULT_KEY_ID = "alias/aws/ssm";

/** The checks PutParameter makes on the request alone, before it reads the store. */
export function checkPutParameterInput(input: PutParameterInput): void {
  checkParameterName(input.name);
  if (input.value.length === 0) {
    throw validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.");
  }
  if (input.tags?.length && input.overwrite) {
    throw validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  if (input.dataType !== undefined) checkDataType(input.dataType);
  if (input.tags && input.tags.length > 50) throw new BerthError(ErrorCode.TooManyTags, "You can't add more than 50 tags to a resource.");
}

/** What a new version stores besides its value. */
export interface VersionSettings {
  type: ParameterType;
  description: string | null;
  allowedPattern: string | null;
  keyId: string | null;
  dataType: string;
  tier: ParameterTier;
  policies: string | null;
}

/**
 * The new version's settings, each the request's or else carried over from the latest version
 * it overwrites (none when the parameter is new), checked against type, pattern and tier rules.
 */
export function versionSettings(input: PutParameterInput, previous: ParameterVersionRow | undefined): VersionSettings {
  const type = input.type ?? previous?.type;
  if (type === undefined) throw validation("A parameter type is required when you create a parameter.");
  if (input.keyId !== undefined && type !== "SecureString") throw validation("KeyId is required for SecureString type parameter only.");
  const allowedPattern = input.allowedPattern ?? previous?.allowed_pattern ?? null;
  if (allowedPattern !== null && allowedPattern !== "") checkAllowedPattern(allowedPattern, input.value);
  const policies = input.policies ?? previous?.policies ?? null;
  const tier = effectiveTier(input.tier, previous?.tier, input.value, policies !== null);
  const keyId = type === "SecureString" ? (input.keyId ?? (previous?.type === "SecureString" ? previous.key_id : null) ?? DEFAULT_KEY_ID) : null;
  return {
    type,
    description: input.description ?? previous?.description ?? null,
    allowedPattern,
    keyId,
    dataType: input.dataType ?? previous?.data_type ?? "text",
    tier,
    policies,
  };
}
