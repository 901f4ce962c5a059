import { S3Client } from '@aws-sdk/client-s3';

/** How to reach an S3-compatible service; credentials come from the AWS SDK's default chain unless given. */
export interface S3ConnectionOptions {
  /** http(s)://host[:port] of an S3-compatible service (MinIO, R2, GCS, a test server); absent: AWS S3. */
  endpoint?: string;
  /** Absent: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 when an endpoint is given, else the SDK's chain (profile). */
  region?: string;
  /** Bucket in the path (http://host/bucket/key) instead of the host name; absent: on when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Explicit keys (tests); absent: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, instance role... */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** The region to sign with: see S3ConnectionOptions.region (undefined: left to the SDK's chain). */
export function s3RegionOf(options: Pick<S3ConnectionOptions, 'endpoint' | 'region'>, env: Record<string, string | undefined> = process.env): string | undefined {
  return options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (options.endpoint !== undefined ? 'us-east-1' : undefined);
}

/**
 * An S3 client for any S3-compatible service. Checksums are sent and checked only where the
 * S3 API requires them ('WHEN_REQUIRED'): since SDK 3.729 the default adds CRC32 checksums
 * (and aws-chunked bodies with a trailer on streamed PUTs) that several S3-compatible services
 * reject or store wrongly (aws-sdk-js-v3 issue 6810: R2, GCS's XML API, older MinIO, test
 * servers). The operations used need none (README "Storage": the S3 calls).
 */
export function createS3Client(options: S3ConnectionOptions = {}): S3Client {
  const region = s3RegionOf(options);
  return new S3Client({
    ...(region !== undefined ? { region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
