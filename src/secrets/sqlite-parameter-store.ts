/**
 * The ParameterStore on `<dataDir>/secrets.db` (opened by secrets-database.ts): parameters,
 * their versions (at most 100, as Parameter Store keeps them), labels and tags; the paged
 * listings (by path, DescribeParameters, history) live in parameter-listings.ts. SecureString
 * values are sealed by envelope.ts (AAD: region, account, name and version) and only the sealed
 * blob is stored; a read without decryption returns that blob in base64, never the plaintext.
 * Each mutation is one transaction; a resolved call is on disk.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import {
  parameterArn,
  parseParameterName,
  splitSelector,
  type ParameterStore,
  type ParameterTier,
  type ParameterValue,
  type PutParameterInput,
  type ResourceTag,
  type SecretsScope,
} from "../domain/secrets.ts";
import type { ParameterReference } from "../domain/secret-references.ts";
import type { Envelope } from "./envelope.ts";
import { ParameterListings } from "./parameter-listings.ts";
import { labelsOf, tagsOf, type ParameterRow, type ParameterVersionRow } from "./parameter-rows.ts";
import { MAX_LABELS, MAX_VERSIONS, checkPutParameterInput, validLabel, versionSettings, type VersionSettings } from "./parameter-rules.ts";
import type { SecretsSql } from "./secrets-schema.ts";

export interface SqliteParameterStoreDeps {
  db: SecretsSql;
  envelope: Envelope;
  clock: Clock;
  close(): Promise<void>;
}

const notFound = (name: string): BerthError => new BerthError(ErrorCode.ParameterNotFound, `Parameter ${name} not found.`);
const versionNotFound = (selector: string, name: string): BerthError =>
  new BerthError(ErrorCode.ParameterVersionNotFound, `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`);

export class SqliteParameterStore implements ParameterStore {
  private readonly db: SecretsSql;
  private readonly listings: ParameterListings;

  constructor(private readonly deps: SqliteParameterStoreDeps) {
    this.db = deps.db;
    this.listings = new ParameterListings(deps.db, {
      find: (scope, name) => this.find(scope, name),
      latest: (p) => this.latest(p),
      valueOf: (p, v, withDecryption) => this.valueOf(p, v, withDecryption),
      toValue: (p, v, withDecryption) => this.toValue(p, v, withDecryption),
    });
  }

  // --- lookups ------------------------------------------------------------------------------

  /*
   * in: a name or parameter ARN (no selector); out: the row or undefined. An ARN's one-level
   * resource "parameter/db" may name "db" or "/db": both are tried, in that order.
   */
  private lookup(scope: SecretsScope, nameOrArn: string): { row: ParameterRow | undefined; scope: SecretsScope; name: string } {
    const parsed = parseParameterName(scope, nameOrArn);
    // An ARN may name another region, never another account.
    if (parsed.scope.accountId !== scope.accountId) return { row: undefined, scope: parsed.scope, name: parsed.name };
    const candidates = nameOrArn.startsWith("arn:") && !parsed.name.startsWith("/") ? [parsed.name, `/${parsed.name}`] : [parsed.name];
    for (const name of candidates) {
      const row = this.db
        .sql("SELECT * FROM parameters WHERE region = ? AND account = ? AND name = ?")
        .get(parsed.scope.region, parsed.scope.accountId, name) as ParameterRow | undefined;
      if (row) return { row, scope: parsed.scope, name };
    }
    return { row: undefined, scope: parsed.scope, name: parsed.name };
  }

  /* guard: ParameterNotFound. */
  private find(scope: SecretsScope, name: string): ParameterRow {
    const { row } = this.lookup(scope, name);
    if (!row) throw notFound(name);
    return row;
  }

  private versionRow(id: number, version: number): ParameterVersionRow | undefined {
    return this.db.sql("SELECT * FROM parameter_versions WHERE parameter_id = ? AND version = ?").get(id, version) as ParameterVersionRow | undefined;
  }

  private identity(p: ParameterRow, version: number): string {
    return `ssm\n${p.region}\n${p.account}\n${p.name}\n${version}`;
  }

  private valueOf(p: ParameterRow, v: ParameterVersionRow, withDecryption: boolean): string {
    if (v.type !== "SecureString") return v.value ?? "";
    if (!withDecryption) return v.sealed!.toString("base64");
    return this.deps.envelope.open(v.sealed!, this.identity(p, v.version)).toString("utf8");
  }

  private toValue(p: ParameterRow, v: ParameterVersionRow, withDecryption: boolean, selector?: string): ParameterValue {
    return {
      name: p.name,
      type: v.type,
      value: this.valueOf(p, v, withDecryption),
      version: v.version,
      ...(selector !== undefined ? { selector } : {}),
      lastModifiedDate: v.modified,
      arn: parameterArn({ region: p.region, accountId: p.account }, p.name),
      dataType: v.data_type,
    };
  }

  /* in: "name", "name:3" or "name:label" (or an ARN); guard: ParameterNotFound / ParameterVersionNotFound. */
  private resolve(scope: SecretsScope, input: string): { p: ParameterRow; v: ParameterVersionRow; selector?: string } {
    const sel = splitSelector(input);
    if (sel.invalid) throw notFound(input);
    const { row } = this.lookup(scope, sel.name);
    if (!row) throw notFound(input);
    if (sel.version !== undefined) {
      const v = this.versionRow(row.id, sel.version);
      if (!v) throw versionNotFound(String(sel.version), sel.name);
      return { p: row, v, selector: sel.selector! };
    }
    if (sel.label !== undefined) {
      const v = (this.db.sql("SELECT * FROM parameter_versions WHERE parameter_id = ? ORDER BY version").all(row.id) as ParameterVersionRow[]).find((r) =>
        labelsOf(r).includes(sel.label!),
      );
      if (!v) throw versionNotFound(sel.label, sel.name);
      return { p: row, v, selector: sel.selector! };
    }
    return { p: row, v: this.versionRow(row.id, row.latest)! };
  }

  private latest(p: ParameterRow): ParameterVersionRow {
    return this.versionRow(p.id, p.latest)!;
  }

  // --- writes -------------------------------------------------------------------------------

  async putParameter(scope: SecretsScope, input: PutParameterInput): Promise<{ version: number; tier: ParameterTier }> {
    checkPutParameterInput(input);
    return this.db.tx(() => {
      const existing = this.db.sql("SELECT * FROM parameters WHERE region = ? AND account = ? AND name = ?").get(scope.region, scope.accountId, input.name) as
        | ParameterRow
        | undefined;
      if (existing && !input.overwrite) {
        throw new BerthError(ErrorCode.ParameterAlreadyExists, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
      }
      const settings = versionSettings(input, existing ? this.latest(existing) : undefined);
      const row = existing ?? this.insertParameter(scope, input);
      const version = row.latest + 1;
      this.makeRoomFor(row);
      this.insertVersion(row, version, input, settings);
      this.db.sql("UPDATE parameters SET latest = ? WHERE id = ?").run(version, row.id);
      return { version, tier: settings.tier };
    });
  }

  /* in: a name free in the scope; out: its row, with no versions yet (latest 0). */
  private insertParameter(scope: SecretsScope, input: PutParameterInput): ParameterRow {
    const id = this.db
      .sql("INSERT INTO parameters (region, account, name, latest, tags) VALUES (?, ?, ?, 0, ?)")
      .run(scope.region, scope.accountId, input.name, JSON.stringify(input.tags ?? [])).lastInsertRowid;
    return this.db.sql("SELECT * FROM parameters WHERE id = ?").get(id) as ParameterRow;
  }

  /* in: the next version number of `p`; a SecureString value is stored sealed only, never in `value`. */
  private insertVersion(p: ParameterRow, version: number, input: PutParameterInput, settings: VersionSettings): void {
    const secure = settings.type === "SecureString";
    this.db
      .sql(
        `INSERT INTO parameter_versions (parameter_id, version, type, value, sealed, description, allowed_pattern, key_id, data_type, tier,
           policies, modified, modified_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.id,
        version,
        settings.type,
        secure ? null : input.value,
        secure ? this.deps.envelope.seal(Buffer.from(input.value, "utf8"), this.identity(p, version)) : null,
        settings.description,
        settings.allowedPattern,
        settings.keyId,
        settings.dataType,
        settings.tier,
        settings.policies,
        this.deps.clock.now(),
        input.user,
      );
  }

  /* Keeps at most 100 versions: the oldest goes, unless it carries a label. */
  private makeRoomFor(p: ParameterRow): void {
    const rows = this.db.sql("SELECT version, labels FROM parameter_versions WHERE parameter_id = ? ORDER BY version").all(p.id) as ParameterVersionRow[];
    if (rows.length < MAX_VERSIONS) return;
    const oldest = rows[0]!;
    if (labelsOf(oldest).length > 0) {
      throw new BerthError(
        ErrorCode.ParameterMaxVersionLimitExceeded,
        `You attempted to create a new version of ${p.name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
      );
    }
    this.db.sql("DELETE FROM parameter_versions WHERE parameter_id = ? AND version = ?").run(p.id, oldest.version);
  }

  async labelParameterVersion(scope: SecretsScope, input: { name: string; version?: number; labels: string[] }): Promise<{ invalidLabels: string[]; parameterVersion: number }> {
    return this.db.tx(() => {
      const row = this.find(scope, input.name);
      const version = input.version ?? row.latest;
      const target = this.versionRow(row.id, version);
      if (!target) throw versionNotFound(String(version), input.name);
      const invalidLabels = input.labels.filter((l) => !validLabel(l));
      const valid = [...new Set(input.labels.filter(validLabel))];
      const merged = [...labelsOf(target), ...valid.filter((l) => !labelsOf(target).includes(l))];
      if (merged.length > MAX_LABELS) {
        throw new BerthError(
          ErrorCode.ParameterVersionLabelLimitExceeded,
          "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.",
        );
      }
      // A label names one version of a parameter: it moves off any other version.
      for (const other of this.db.sql("SELECT version, labels FROM parameter_versions WHERE parameter_id = ? AND version != ?").all(row.id, version) as ParameterVersionRow[]) {
        const kept = labelsOf(other).filter((l) => !valid.includes(l));
        if (kept.length !== labelsOf(other).length) {
          this.db.sql("UPDATE parameter_versions SET labels = ? WHERE parameter_id = ? AND version = ?").run(JSON.stringify(kept), row.id, other.version);
        }
      }
      this.db.sql("UPDATE parameter_versions SET labels = ? WHERE parameter_id = ? AND version = ?").run(JSON.stringify(merged), row.id, version);
      return { invalidLabels, parameterVersion: version };
    });
  }

  async unlabelParameterVersion(scope: SecretsScope, input: { name: string; version: number; labels: string[] }): Promise<{ removedLabels: string[]; invalidLabels: string[] }> {
    return this.db.tx(() => {
      const row = this.find(scope, input.name);
      const target = this.versionRow(row.id, input.version);
      if (!target) throw versionNotFound(String(input.version), input.name);
      const current = labelsOf(target);
      const removedLabels = [...new Set(input.labels.filter((l) => current.includes(l)))];
      const invalidLabels = input.labels.filter((l) => !current.includes(l));
      this.db
        .sql("UPDATE parameter_versions SET labels = ? WHERE parameter_id = ? AND version = ?")
        .run(JSON.stringify(current.filter((l) => !removedLabels.includes(l))), row.id, input.version);
      return { removedLabels, invalidLabels };
    });
  }

  async deleteParameter(scope: SecretsScope, name: string): Promise<void> {
    this.db.tx(() => {
      const row = this.find(scope, name);
      this.db.sql("DELETE FROM parameters WHERE id = ?").run(row.id);
    });
  }

  async deleteParameters(scope: SecretsScope, names: string[]): Promise<{ deletedParameters: string[]; invalidParameters: string[] }> {
    return this.db.tx(() => {
      const deletedParameters: string[] = [];
      const invalidParameters: string[] = [];
      for (const name of names) {
        const { row } = this.lookup(scope, name);
        if (!row) invalidParameters.push(name);
        else {
          this.db.sql("DELETE FROM parameters WHERE id = ?").run(row.id);
          deletedParameters.push(name);
        }
      }
      return { deletedParameters, invalidParameters };
    });
  }

  async addTags(scope: SecretsScope, name: string, tags: ResourceTag[]): Promise<void> {
    this.db.tx(() => {
      const row = this.taggable(scope, name);
      const byKey = new Map(tagsOf(row).map((t) => [t.key, t.value]));
      for (const t of tags) byKey.set(t.key, t.value);
      if (byKey.size > 50) throw new BerthError(ErrorCode.TooManyTags, "You can't add more than 50 tags to a resource.");
      this.db.sql("UPDATE parameters SET tags = ? WHERE id = ?").run(JSON.stringify([...byKey].map(([key, value]) => ({ key, value }))), row.id);
    });
  }

  async removeTags(scope: SecretsScope, name: string, keys: string[]): Promise<void> {
    this.db.tx(() => {
      const row = this.taggable(scope, name);
      this.db.sql("UPDATE parameters SET tags = ? WHERE id = ?").run(JSON.stringify(tagsOf(row).filter((t) => !keys.includes(t.key))), row.id);
    });
  }

  async listTags(scope: SecretsScope, name: string): Promise<ResourceTag[]> {
    return tagsOf(this.taggable(scope, name));
  }

  private taggable(scope: SecretsScope, name: string): ParameterRow {
    const { row } = this.lookup(scope, name);
    if (!row) throw new BerthError(ErrorCode.InvalidResourceId, "The resource ID is not valid. Verify the ID and try again.");
    return row;
  }

  // --- reads --------------------------------------------------------------------------------

  async getParameter(scope: SecretsScope, name: string, withDecryption: boolean): Promise<ParameterValue> {
    const { p, v, selector } = this.resolve(scope, name);
    return this.toValue(p, v, withDecryption, selector);
  }

  async getParameters(scope: SecretsScope, names: string[], withDecryption: boolean): Promise<{ parameters: ParameterValue[]; invalidParameters: string[] }> {
    const parameters: ParameterValue[] = [];
    const invalidParameters: string[] = [];
    for (const name of [...new Set(names)]) {
      try {
        parameters.push(await this.getParameter(scope, name, withDecryption));
      } catch (error) {
        // A missing parameter or version is reported in InvalidParameters, as AWS does.
        if (error instanceof BerthError && (error.code === ErrorCode.ParameterNotFound || error.code === ErrorCode.ParameterVersionNotFound)) invalidParameters.push(name);
        else throw error;
      }
    }
    return { parameters, invalidParameters };
  }

  // --- listings (parameter-listings.ts) -----------------------------------------------------

  getParametersByPath(scope: SecretsScope, query: Parameters<ParameterStore["getParametersByPath"]>[1]): ReturnType<ParameterStore["getParametersByPath"]> {
    return this.listings.getParametersByPath(scope, query);
  }

  describeParameters(scope: SecretsScope, query: Parameters<ParameterStore["describeParameters"]>[1]): ReturnType<ParameterStore["describeParameters"]> {
    return this.listings.describeParameters(scope, query);
  }

  getParameterHistory(scope: SecretsScope, query: Parameters<ParameterStore["getParameterHistory"]>[1]): ReturnType<ParameterStore["getParameterHistory"]> {
    return this.listings.getParameterHistory(scope, query);
  }

  async readReference(reference: ParameterReference): Promise<string> {
    const scope = { region: reference.region, accountId: reference.accountId };
    const { p, v } = this.resolve(scope, reference.resourceArn.startsWith("arn:") ? reference.resourceArn : reference.name);
    return this.valueOf(p, v, true);
  }

  async close(): Promise<void> {
    await this.deps.close();
  }
}
