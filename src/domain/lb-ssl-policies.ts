/**
 * The predefined ELB security policies Berth knows (DescribeSSLPolicies and a listener's
 * SslPolicy). The data plane accepts TLS 1.2 and 1.3 whatever the policy names; the list is
 * here so that names are checked and Describe shows AWS's protocols.
 */
export interface SslPolicy {
  name: string;
  protocols: string[];
  ciphers: string[];
  loadBalancerTypes: string[];
}

const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
];
const TLS13_CIPHERS = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];
const BOTH = ["application", "network"];

export const SSL_POLICIES: readonly SslPolicy[] = [
  { name: "ELBSecurityPolicy-2016-08", protocols: ["TLSv1", "TLSv1.1", "TLSv1.2"], ciphers: TLS12_CIPHERS, loadBalancerTypes: BOTH },
  { name: "ELBSecurityPolicy-TLS-1-2-2017-01", protocols: ["TLSv1.2"], ciphers: TLS12_CIPHERS, loadBalancerTypes: BOTH },
  { name: "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", protocols: ["TLSv1.2"], ciphers: TLS12_CIPHERS, loadBalancerTypes: BOTH },
  { name: "ELBSecurityPolicy-TLS13-1-2-2021-06", protocols: ["TLSv1.2", "TLSv1.3"], ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS], loadBalancerTypes: BOTH },
  { name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", protocols: ["TLSv1.2", "TLSv1.3"], ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS], loadBalancerTypes: BOTH },
  { name: "ELBSecurityPolicy-TLS13-1-3-2021-06", protocols: ["TLSv1.3"], ciphers: TLS13_CIPHERS, loadBalancerTypes: BOTH },
];

export const findSslPolicy = (name: string): SslPolicy | undefined => SSL_POLICIES.find((p) => p.name === name);
