/**
 * A minimal AWS Certificate Manager: imported certificates (PEM certificate, private key and
 * chain) that HTTPS and TLS listeners name by ARN. The port is implemented by the ELB engine
 * (elb/), which keeps certificates in the same file as the listeners that use them, so that
 * DeleteCertificate can refuse a certificate in use. Private keys never leave the engine
 * except towards the data plane: no method here returns one.
 */
import type { ElbScope } from "./load-balancing.ts";

export interface CertificateTag {
  key: string;
  value?: string;
}

/** What the certificate itself says, read from its PEM when imported. */
export interface CertificateFacts {
  domainName: string;
  subjectAlternativeNames: string[];
  subject: string;
  issuer: string;
  serial: string;
  /** Epoch milliseconds. */
  notBefore: number;
  notAfter: number;
  /** ACM's names: RSA_2048, EC_prime256v1, … */
  keyAlgorithm: string;
}

export interface Certificate extends CertificateFacts {
  arn: string;
  /** Epoch milliseconds of the first import and of the latest one. */
  createdAt: number;
  importedAt: number;
  status: "ISSUED" | "EXPIRED";
  type: "IMPORTED";
  /** ARNs of the load balancers whose listeners use it. */
  inUseBy: string[];
}

export interface ImportCertificateCommand {
  /** Re-import over an existing certificate (its ARN stays). */
  arn?: string;
  certificatePem: string;
  privateKeyPem: string;
  chainPem?: string;
  tags?: CertificateTag[];
}

export interface CertificateQuery {
  statuses?: string[];
  keyTypes?: string[];
  nextToken?: string;
  maxItems?: number;
}

export interface CertificateManager {
  importCertificate(scope: ElbScope, cmd: ImportCertificateCommand): Promise<string>;
  describeCertificate(scope: ElbScope, arn: string): Promise<Certificate>;
  /** `keyTypes` defaults to RSA_1024 and RSA_2048, as ACM's ListCertificates does. */
  listCertificates(scope: ElbScope, q: CertificateQuery): Promise<{ certificates: Certificate[]; nextToken?: string }>;
  /** ResourceInUse while a listener names it. */
  deleteCertificate(scope: ElbScope, arn: string): Promise<void>;
  getCertificate(scope: ElbScope, arn: string): Promise<{ certificatePem: string; chainPem?: string }>;
  addCertificateTags(scope: ElbScope, arn: string, tags: CertificateTag[]): Promise<void>;
  removeCertificateTags(scope: ElbScope, arn: string, tags: CertificateTag[]): Promise<void>;
  certificateTags(scope: ElbScope, arn: string): Promise<CertificateTag[]>;
}
