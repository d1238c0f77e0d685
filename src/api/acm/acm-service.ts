/**
 * AWS Certificate Manager (CertificateManager, JSON 1.1), the minimum HTTPS and TLS listeners
 * need: ImportCertificate (PEM blobs, base64 on the wire), DescribeCertificate,
 * ListCertificates, GetCertificate, DeleteCertificate and tags, over the CertificateManager
 * port (domain/certificates.ts). The private key is taken in and never given back.
 */
import type { CallContext } from "../../control/context.ts";
import type { Certificate, CertificateManager, CertificateTag } from "../../domain/certificates.ts";
import type { ElbScope } from "../../domain/load-balancing.ts";
import type { ErrorTable } from "../errors.ts";
import { acmModel } from "../models/acm.model.ts";
import type * as acm from "../models/acm.types.ts";
import type { ResourceResolver, ServiceDefinition } from "../service.ts";
import { defined } from "../wire.ts";

export const ACM_ERRORS: ErrorTable = {
  serverFault: "InternalFailure",
  codes: {
    Validation: { exception: "ValidationException" },
    InvalidParameter: { exception: "InvalidParameterException" },
    InvalidArn: { exception: "InvalidArnException" },
    ResourceNotFound: { exception: "ResourceNotFoundException" },
    ResourceInUse: { exception: "ResourceInUseException" },
    TooManyTags: { exception: "TooManyTagsException" },
    DuplicateTagKeys: { exception: "InvalidTagException" },
    LimitExceeded: { exception: "LimitExceededException" },
    AccessDenied: { exception: "AccessDeniedException", status: 403 },
  },
};

const scopeOf = (ctx: CallContext): ElbScope => ({ region: ctx.scope.region, accountId: ctx.scope.accountId });
const text = (blob: string): string => Buffer.from(blob, "base64").toString("utf8");
const seconds = (ms: number): number => ms / 1000;
const tagsFromWire = (tags: readonly acm.Tag[] | undefined): CertificateTag[] =>
  (tags ?? []).map((t) => (t.Value !== undefined ? { key: t.Key, value: t.Value } : { key: t.Key }));

function detail(c: Certificate): acm.CertificateDetail {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNames: c.subjectAlternativeNames,
    DomainValidationOptions: [],
    Serial: c.serial,
    Subject: c.subject,
    Issuer: c.issuer,
    CreatedAt: seconds(c.createdAt),
    ImportedAt: seconds(c.importedAt),
    Status: c.status,
    NotBefore: seconds(c.notBefore),
    NotAfter: seconds(c.notAfter),
    KeyAlgorithm: c.keyAlgorithm as acm.KeyAlgorithm,
    InUseBy: c.inUseBy,
    Type: c.type,
    RenewalEligibility: "INELIGIBLE",
    Options: { CertificateTransparencyLoggingPreference: "DISABLED" },
  };
}

function summary(c: Certificate): acm.CertificateSummary {
  return {
    CertificateArn: c.arn,
    DomainName: c.domainName,
    SubjectAlternativeNameSummaries: c.subjectAlternativeNames,
    HasAdditionalSubjectAlternativeNames: false,
    Status: c.status,
    Type: c.type,
    KeyAlgorithm: c.keyAlgorithm as acm.KeyAlgorithm,
    InUse: c.inUseBy.length > 0,
    RenewalEligibility: "INELIGIBLE",
    NotBefore: seconds(c.notBefore),
    NotAfter: seconds(c.notAfter),
    CreatedAt: seconds(c.createdAt),
    ImportedAt: seconds(c.importedAt),
  };
}

/**
 * IAM resources: a certificate by its ARN (ImportCertificate only when it re-imports one); a
 * first import and ListCertificates act on "*", as on AWS.
 */
const byCertificate: ResourceResolver = (_ctx, input: { CertificateArn?: unknown }) => [typeof input.CertificateArn === "string" ? input.CertificateArn : "*"];
const ACM_RESOURCES: Record<string, ResourceResolver> = Object.fromEntries(
  ["ImportCertificate", "DescribeCertificate", "GetCertificate", "DeleteCertificate", "AddTagsToCertificate", "RemoveTagsFromCertificate", "ListTagsForCertificate"].map((op) => [op, byCertificate]),
);

export function acmService(certificates: CertificateManager): ServiceDefinition {
  return {
    signingName: "acm",
    model: acmModel,
    errors: ACM_ERRORS,
    resources: ACM_RESOURCES,
    operations: {
      ImportCertificate: async (ctx: CallContext, i: acm.ImportCertificateRequest): Promise<acm.ImportCertificateResponse> => ({
        CertificateArn: await certificates.importCertificate(
          scopeOf(ctx),
          defined({
            arn: i.CertificateArn,
            certificatePem: text(i.Certificate),
            privateKeyPem: text(i.PrivateKey),
            chainPem: i.CertificateChain !== undefined ? text(i.CertificateChain) : undefined,
            tags: i.Tags !== undefined ? tagsFromWire(i.Tags) : undefined,
          }),
        ),
      }),
      DescribeCertificate: async (ctx: CallContext, i: acm.DescribeCertificateRequest): Promise<acm.DescribeCertificateResponse> => ({
        Certificate: detail(await certificates.describeCertificate(scopeOf(ctx), i.CertificateArn)),
      }),
      ListCertificates: async (ctx: CallContext, i: acm.ListCertificatesRequest): Promise<acm.ListCertificatesResponse> => {
        const page = await certificates.listCertificates(
          scopeOf(ctx),
          defined({ statuses: i.CertificateStatuses, keyTypes: i.Includes?.keyTypes, nextToken: i.NextToken, maxItems: i.MaxItems }),
        );
        return { CertificateSummaryList: page.certificates.map(summary), ...defined({ NextToken: page.nextToken }) };
      },
      GetCertificate: async (ctx: CallContext, i: acm.GetCertificateRequest): Promise<acm.GetCertificateResponse> => {
        const got = await certificates.getCertificate(scopeOf(ctx), i.CertificateArn);
        return { Certificate: got.certificatePem, ...defined({ CertificateChain: got.chainPem }) };
      },
      DeleteCertificate: async (ctx: CallContext, i: acm.DeleteCertificateRequest) => {
        await certificates.deleteCertificate(scopeOf(ctx), i.CertificateArn);
        return {};
      },
      AddTagsToCertificate: async (ctx: CallContext, i: acm.AddTagsToCertificateRequest) => {
        await certificates.addCertificateTags(scopeOf(ctx), i.CertificateArn, tagsFromWire(i.Tags));
        return {};
      },
      RemoveTagsFromCertificate: async (ctx: CallContext, i: acm.RemoveTagsFromCertificateRequest) => {
        await certificates.removeCertificateTags(scopeOf(ctx), i.CertificateArn, tagsFromWire(i.Tags));
        return {};
      },
      ListTagsForCertificate: async (ctx: CallContext, i: acm.ListTagsForCertificateRequest): Promise<acm.ListTagsForCertificateResponse> => ({
        Tags: (await certificates.certificateTags(scopeOf(ctx), i.CertificateArn)).map((t) => ({ Key: t.key, Value: t.value ?? "" })),
      }),
    },
  };
}
