/**
 * TLS for HTTPS and TLS listeners: the listener's certificates (default first), chosen by SNI
 * against each certificate's names (subject CN and DNS SANs, `*.` wildcards one label deep).
 * TLS 1.2 and 1.3 only, as every ELBSecurityPolicy Berth offers; the TLS13-1-3 policies only 1.3.
 */
import { createSecureContext, type SecureContext, type TlsOptions } from "node:tls";
import { X509Certificate } from "node:crypto";
import type { LbSnapshot } from "../protocol/lb-protocol.ts";

export type CertificatePem = LbSnapshot["certificates"][string];

export interface TlsMaterial {
  /** Default first. */
  certificates: CertificatePem[];
}

export function tlsServerOptions(material: TlsMaterial, sslPolicy: string | undefined): TlsOptions {
  const minVersion = sslPolicy?.includes("TLS13-1-3") ? "TLSv1.3" : "TLSv1.2";
  const [first] = material.certificates;
  const named = material.certificates.map((pem) => ({ names: certificateNames(pem.certificatePem), context: createSecureContext({ ...keyPair(pem), minVersion }) }));
  return {
    ...(first ? keyPair(first) : {}),
    minVersion,
    SNICallback: (servername: string, done: (error: Error | null, context?: SecureContext) => void) => {
      const host = servername.toLowerCase();
      const match = named.find((c) => c.names.some((n) => nameMatches(n, host)));
      done(null, match?.context ?? named[0]?.context);
    },
  };
}

function keyPair(pem: CertificatePem): { cert: string; key: string } {
  return { cert: pem.chainPem ? `${pem.certificatePem.trim()}\n${pem.chainPem.trim()}\n` : pem.certificatePem, key: pem.privateKeyPem };
}

export function certificateNames(certificatePem: string): string[] {
  try {
    const cert = new X509Certificate(certificatePem);
    const names = (cert.subjectAltName ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.startsWith("DNS:"))
      .map((s) => s.slice(4).toLowerCase());
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    if (cn) names.push(cn.toLowerCase());
    return names;
  } catch {
    return [];
  }
}

function nameMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot) === pattern.slice(1);
}
