/** Where the AWS clients connect: Lambda's defaults in AWS, local servers in the local stack and tests. */
export interface AwsClientOptions {
  region?: string;
  dynamoDbEndpoint?: string;
  secretsManagerEndpoint?: string;
  kmsEndpoint?: string;
  eventBridgeEndpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Tighter limits for a function with a short budget (webhooks); absent: the defaults below. */
  limits?: { connectionTimeoutMs: number; requestTimeoutMs: number; maxAttempts: number };
}

/** The configuration of one SDK client: shared settings, and the service's own endpoint when one is given. */
export function clientConfig(aws: AwsClientOptions, endpoint: string | undefined) {
  return {
    ...(aws.region === undefined ? {} : { region: aws.region }),
    ...(aws.credentials === undefined ? {} : { credentials: aws.credentials }),
    ...(endpoint === undefined ? {} : { endpoint }),
    // A stuck connection must fail fast enough to leave time for a readable error page.
    requestHandler: {
      connectionTimeout: aws.limits?.connectionTimeoutMs ?? 1_000,
      requestTimeout: aws.limits?.requestTimeoutMs ?? 3_000,
    },
    ...(aws.limits === undefined ? {} : { maxAttempts: aws.limits.maxAttempts }),
  };
}
