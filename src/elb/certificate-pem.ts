/**
 * Reading an imported certificate the way ACM does: exactly one PEM certificate, an unencrypted
 * private key that matches it (RSA 1024–4096 or EC P-256/384/521), an optional chain of PEM
 * certificates. Never puts key material in an error message.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { CertificateFacts } from "../domain/certificates.ts";

const invalid = (message: string): BerthError => new BerthError(ErrorCode.Validation, message);
const BEGIN_CERT = "-----BEGIN CERTIFICATE-----";

const CURVES: Record<string, string> = { prime256v1: "EC_prime256v1", secp384r1: "EC_secp384r1", secp521r1: "EC_secp521r1" };

export function readCertificate(certificatePem: string, privateKeyPem: string, chainPem: string | undefined): CertificateFacts {
  if (certificatePem.split(BEGIN_CERT).length - 1 !== 1) {
    throw invalid("The certificate field must contain exactly one PEM-encoded certificate.");
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    throw invalid("Could not parse the certificate: it must be a PEM-encoded X.509 certificate.");
  }
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw invalid("The private key is not supported: it must be an unencrypted PEM-encoded RSA or EC private key.");
  }
  if (!cert.checkPrivateKey(key)) throw invalid("The private key does not match the certificate's public key.");
  if (chainPem !== undefined && chainPem.trim() !== "") {
    for (const part of chainPem.split(BEGIN_CERT).slice(1)) {
      try {
        new X509Certificate(BEGIN_CERT + part);
      } catch {
        throw invalid("Could not parse the certificate chain: it must be PEM-encoded X.509 certificates.");
      }
    }
  }
  const names = sanNames(cert.subjectAltName);
  const cn = field(cert.subject, "CN");
  const domainName = cn ?? names[0];
  if (domainName === undefined) throw invalid("The certificate has neither a common name nor a DNS subject alternative name.");
  return {
    domainName,
    subjectAlternativeNames: names.length > 0 ? names : [domainName],
    subject: cert.subject.split("\n").join(","),
    issuer: field(cert.issuer, "O") ?? field(cert.issuer, "CN") ?? cert.issuer.split("\n").join(","),
    serial: (cert.serialNumber.length % 2 === 1 ? `0${cert.serialNumber}` : cert.serialNumber).toLowerCase().replace(/(..)(?!$)/g, "$1:"),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    keyAlgorithm: keyAlgorithm(cert),
  };
}

function keyAlgorithm(cert: X509Certificate): string {
  const pub = cert.publicKey;
  const details = pub.asymmetricKeyDetails ?? {};
  if (pub.asymmetricKeyType === "rsa" && details.modulusLength !== undefined && [1024, 2048, 3072, 4096].includes(details.modulusLength)) {
    return `RSA_${details.modulusLength}`;
  }
  if (pub.asymmetricKeyType === "ec" && details.namedCurve !== undefined && CURVES[details.namedCurve]) return CURVES[details.namedCurve]!;
  throw invalid("The certificate's key algorithm is not supported: use RSA 1024–4096 or EC P-256, P-384 or P-521.");
}

/** `CN=a\nO=b` → the value of one attribute. */
function field(dn: string, name: string): string | undefined {
  for (const line of dn.split("\n")) if (line.startsWith(`${name}=`)) return line.slice(name.length + 1);
  return undefined;
}

/** `DNS:a, DNS:b, IP Address:1.2.3.4` → the DNS names. */
function sanNames(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((part) => part.startsWith("DNS:"))
    .map((part) => part.slice(4));
}
