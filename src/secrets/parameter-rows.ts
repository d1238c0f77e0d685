/**
 * Parameter Store's rows in `<dataDir>/secrets.db` (`parameters`, `parameter_versions`) as the
 * store and its listings read them, with the JSON columns decoded. Types and pure reads only: it
 * never opens a sealed value and never touches the database.
 */
import type { ParameterTier, ParameterType, ResourceTag } from "../domain/secrets.ts";

export interface ParameterRow {
  id: number;
  region: string;
  account: string;
  name: string;
  latest: number;
  tags: string;
}

export interface ParameterVersionRow {
  version: number;
  type: ParameterType;
  value: string | null;
  sealed: Buffer | null;
  description: string | null;
  allowed_pattern: string | null;
  key_id: string | null;
  data_type: string;
  tier: ParameterTier;
  policies: string | null;
  modified: number;
  modified_user: string;
  labels: string;
}

export const labelsOf = (v: ParameterVersionRow): string[] => JSON.parse(v.labels) as string[];
export const tagsOf = (p: ParameterRow): ResourceTag[] => JSON.parse(p.tags) as ResourceTag[];
