/**
 * The AWS managed policies Berth knows (arn:aws:iam::aws:policy/…): attachable like any
 * policy, never changed or deleted by users. AmazonECSTaskExecutionRolePolicy is AWS's text;
 * ReadOnlyAccess is an approximation (every service's Describe*, List* and Get*).
 */
import type { ManagedPolicy } from "../domain/iam.ts";

export interface AwsManagedPolicy {
  policy: Omit<ManagedPolicy, "attachmentCount">;
  document: string;
}

function managed(name: string, path: string, id: string, created: string, description: string, document: object): AwsManagedPolicy {
  const at = Date.parse(created);
  return {
    policy: {
      policyName: name,
      policyId: id,
      arn: `arn:aws:iam::aws:policy${path}${name}`,
      path,
      defaultVersionId: "v1",
      description,
      createDate: at,
      updateDate: at,
      tags: [],
    },
    document: JSON.stringify(document, null, 4),
  };
}

export const AWS_MANAGED_POLICIES: readonly AwsManagedPolicy[] = [
  managed("AdministratorAccess", "/", "ANPAIWMBCKSKIEE64ZLYK", "2015-02-06T18:39:46Z", "Provides full access to AWS services and resources.", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
  }),
  managed("ReadOnlyAccess", "/", "ANPAILL3HVNFSB6DCOWYQ", "2015-02-06T18:39:48Z", "Provides read-only access to AWS services and resources.", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["*:Describe*", "*:List*", "*:Get*"], Resource: "*" }],
  }),
  managed(
    "AmazonECSTaskExecutionRolePolicy",
    "/service-role/",
    "ANPAJG4T4G4PV56DE72PY",
    "2017-11-16T18:48:22Z",
    "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
    {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: [
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
          ],
          Resource: "*",
        },
      ],
    },
  ),
];

export const awsManagedPolicy = (arn: string): AwsManagedPolicy | undefined => AWS_MANAGED_POLICIES.find((p) => p.policy.arn === arn);
