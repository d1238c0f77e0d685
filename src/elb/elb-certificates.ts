/**
 * ACM's imported certificates, kept beside the listeners that use them. Import parses the PEM
 * (certificate-pem.ts) and stores the private key with it; nothing here returns a key. A
 * certificate a listener names cannot be deleted (ResourceInUse) and is listed as in use by
 * that listener's load balancer.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Certificate, CertificateQuery, CertificateTag, ImportCertificateCommand } from "../domain/certificates.ts";
import type { ElbScope } from "../domain/load-balancing.ts";
import { readCertificate } from "./certificate-pem.ts";
import type { CertificateRow } from "./elb-catalog.ts";
import { type ElbContext, checkTags, page } from "./elb-context.ts";

const DEFAULT_KEY_TYPES = ["RSA_1024", "RSA_2048"];
const ARN_RE = /^arn:aws:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;

export function certificateInScope(scope: ElbScope, arn: string): boolean {
  const m = ARN_RE.exec(arn);
  return m !== null && m[1] === scope.region && m[2] === scope.accountId;
}

function requireCertificate(ctx: ElbContext, scope: ElbScope, arn: string): CertificateRow {
  if (!ARN_RE.test(arn)) throw new BerthError(ErrorCode.InvalidArn, `The ARN '${arn}' is not a valid certificate ARN.`);
  const row = certificateInScope(scope, arn) ? ctx.catalog.certificate(arn) : undefined;
  if (!row) throw new BerthError(ErrorCode.ResourceNotFound, `Could not find certificate ${arn}.`);
  return row;
}

function inUseBy(ctx: ElbContext, arn: string): string[] {
  const lbs = ctx.catalog.allListeners().filter((l) => l.listener.certificates.includes(arn)).map((l) => l.listener.loadBalancerArn);
  return [...new Set(lbs)];
}

function view(ctx: ElbContext, row: CertificateRow): Certificate {
  const c = row.certificate;
  return { ...c, status: c.notAfter < ctx.clock.now() ? "EXPIRED" : "ISSUED", inUseBy: inUseBy(ctx, c.arn) };
}

export function importCertificate(ctx: ElbContext, scope: ElbScope, cmd: ImportCertificateCommand): string {
  const existing = cmd.arn !== undefined ? requireCertificate(ctx, scope, cmd.arn) : undefined;
  if (existing && cmd.tags !== undefined && cmd.tags.length > 0) {
    throw new BerthError(ErrorCode.Validation, "Tags cannot be specified when a certificate is re-imported.");
  }
  const facts = readCertificate(cmd.certificatePem, cmd.privateKeyPem, cmd.chainPem);
  checkTags([], cmd.tags ?? []);
  const now = ctx.clock.now();
  const arn = cmd.arn ?? `arn:aws:acm:${scope.region}:${scope.accountId}:certificate/${ctx.ids.uuid()}`;
  const row: CertificateRow = {
    certificate: { arn, ...facts, createdAt: existing?.certificate.createdAt ?? now, importedAt: now, type: "IMPORTED" },
    certificatePem: cmd.certificatePem,
    privateKeyPem: cmd.privateKeyPem,
    ...(cmd.chainPem !== undefined && cmd.chainPem.trim() !== "" ? { chainPem: cmd.chainPem } : {}),
  };
  // A re-imported certificate a listener uses changes what the data plane serves.
  ctx.write(() => {
    ctx.catalog.putCertificate(scope, row);
    for (const t of cmd.tags ?? []) ctx.catalog.setTag(arn, t.key, t.value ?? "");
  }, existing !== undefined);
  return arn;
}

export const describeCertificate = (ctx: ElbContext, scope: ElbScope, arn: string): Certificate => view(ctx, requireCertificate(ctx, scope, arn));

export function listCertificates(
  ctx: ElbContext,
  scope: ElbScope,
  q: CertificateQuery,
): { certificates: Certificate[]; nextToken?: string } {
  const all = ctx.catalog.certificates(scope).map((r) => view(ctx, r));
  const statuses = q.statuses !== undefined && q.statuses.length > 0 ? q.statuses : undefined;
  const keyTypes = q.keyTypes !== undefined && q.keyTypes.length > 0 ? q.keyTypes : DEFAULT_KEY_TYPES;
  const matching = all.filter((c) => (statuses === undefined || statuses.includes(c.status)) && keyTypes.includes(c.keyAlgorithm));
  const p = page(matching, q.nextToken, q.maxItems ?? 1000);
  return { certificates: p.items, ...(p.nextMarker !== undefined ? { nextToken: p.nextMarker } : {}) };
}

export function deleteCertificate(ctx: ElbContext, scope: ElbScope, arn: string): void {
  requireCertificate(ctx, scope, arn);
  if (inUseBy(ctx, arn).length > 0) {
    throw new BerthError(ErrorCode.ResourceInUse, `Certificate ${arn} in account ${scope.accountId} is in use.`);
  }
  ctx.write(() => {
    ctx.catalog.deleteCertificate(arn);
    ctx.catalog.removeTags([arn]);
  }, false);
}

export function getCertificate(ctx: ElbContext, scope: ElbScope, arn: string): { certificatePem: string; chainPem?: string } {
  const row = requireCertificate(ctx, scope, arn);
  return { certificatePem: row.certificatePem, ...(row.chainPem !== undefined ? { chainPem: row.chainPem } : {}) };
}

export function addCertificateTags(ctx: ElbContext, scope: ElbScope, arn: string, tags: CertificateTag[]): void {
  requireCertificate(ctx, scope, arn);
  checkTags(ctx.catalog.tags(arn), tags);
  ctx.write(() => {
    for (const t of tags) ctx.catalog.setTag(arn, t.key, t.value ?? "");
  }, false);
}

/** A tag given with a value is removed only when the value matches, as ACM does. */
export function removeCertificateTags(ctx: ElbContext, scope: ElbScope, arn: string, tags: CertificateTag[]): void {
  requireCertificate(ctx, scope, arn);
  const current = new Map(ctx.catalog.tags(arn).map((t) => [t.key, t.value ?? ""]));
  ctx.write(() => {
    for (const t of tags) if (t.value === undefined || current.get(t.key) === t.value) ctx.catalog.removeTag(arn, t.key);
  }, false);
}

export function certificateTags(ctx: ElbContext, scope: ElbScope, arn: string): CertificateTag[] {
  requireCertificate(ctx, scope, arn);
  return ctx.catalog.tags(arn);
}
