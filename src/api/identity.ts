/**
 * Who a verified request comes from. The SigV4 credential lookup resolves an access key id
 * to a Principal; the use cases see only its ARN and account.
 */
export interface Principal {
  accountId: string;
  /** e.g. arn:aws:iam::123456789012:user/berth-admin */
  arn: string;
  /** IAM unique id, e.g. AIDA…; STS GetCallerIdentity returns it as UserId. */
  userId: string;
  /** The data dir's admin key (identity.json): root-like, never policy-checked. */
  admin?: boolean;
}
