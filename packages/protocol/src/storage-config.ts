import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Where uploads and results live (server-config.ts lists the variables in its table; README
 * "Storage"):
 *  A2I_STORAGE                 file:<dir> (relative to the working dir; default file:var: uploads in
 *                              <dir>/uploads, results in <dir>/results) or s3://<bucket>[/<prefix>] (S3-compatible
 *                              object storage: <prefix>/uploads/..., <prefix>/results/...)
 *  A2I_S3_ENDPOINT             http(s)://host[:port] of an S3-compatible service (MinIO, R2, GCS); unset: AWS S3
 *  A2I_S3_REGION               signing region; unset: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 with an endpoint
 *  A2I_S3_FORCE_PATH_STYLE     bucket in the path, not the host name; unset: on with an endpoint, off for AWS
 *  A2I_STORAGE_REDIRECT        off | presigned: GET .../images/:n streams the image through the api, or
 *                              answers 307 to a presigned URL of the bucket (s3 only)
 *  A2I_STORAGE_PRESIGN_SECONDS how long such a URL works
 * S3 credentials are the AWS SDK's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
 * web identity, the instance's role): no A2I_ variable holds a secret.
 */

/** S3's bucket naming rules (3-63 lowercase letters, digits, '.' and '-', a letter or digit at each end). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A key prefix: '/'-separated names, none empty, '.' or '..'. */
const PREFIX = /^(?:(?!\.{1,2}(?:\/|$))[^/\\\0]+\/?)*$/;

export type StorageLocation = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

/** `file:<dir>`, `file:///abs/dir` or `s3://bucket[/prefix]`; null when it is none of these. */
export function parseStorageUri(uri: string): StorageLocation | null {
  if (uri.startsWith('file:')) {
    let dir = uri.slice('file:'.length);
    if (dir.startsWith('//')) {
      if (!dir.startsWith('///')) return null;
      dir = dir.slice(2);
    }
    return dir === '' ? null : { kind: 'file', dir };
  }
  const s3 = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!s3) return null;
  const bucket = s3[1]!;
  const prefix = (s3[2] ?? '').replace(/\/+$/, '');
  if (!BUCKET.test(bucket) || !PREFIX.test(prefix)) return null;
  return { kind: 's3', bucket, prefix };
}

const flag = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'], 'true or false'))
  .transform((s) => ['true', '1', 'yes', 'on'].includes(s));

export const storageEnvShape = {
  A2I_STORAGE: z
    .string()
    .trim()
    .refine((uri) => parseStorageUri(uri) !== null, 'file:<dir> or s3://<bucket>[/<prefix>] (S3 bucket naming rules)')
    .transform((uri) => parseStorageUri(uri)!)
    .default({ kind: 'file', dir: 'var' }),
  A2I_S3_ENDPOINT: z.string().trim().regex(/^https?:\/\/[^/\s]+\/?$/, 'http(s)://host[:port]').optional(),
  A2I_S3_REGION: z.string().trim().min(1).optional(),
  A2I_S3_FORCE_PATH_STYLE: flag.optional(),
  A2I_STORAGE_REDIRECT: z.enum(['off', 'presigned'], 'off or presigned').default('off'),
  // SigV4 presigned URLs live at most 7 days
  A2I_STORAGE_PRESIGN_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300),
};

export type StorageConfig =
  | { kind: 'file' }
  | {
      kind: 's3';
      bucket: string;
      /** '' or a prefix without a trailing '/'. */
      prefix: string;
      endpoint?: string;
      region?: string;
      forcePathStyle?: boolean;
    };

export interface ImageDelivery {
  /** GET .../images/:n: `stream` through the api, or `presigned` (307 to the bucket). */
  mode: 'stream' | 'presigned';
  presignSeconds: number;
}

/** The storage part of the configuration, and the local folders it implies (the error says what to fix, or null). */
export function storageConfigOf(
  e: {
    A2I_STORAGE: StorageLocation;
    A2I_S3_ENDPOINT?: string | undefined;
    A2I_S3_REGION?: string | undefined;
    A2I_S3_FORCE_PATH_STYLE?: boolean | undefined;
    A2I_STORAGE_REDIRECT: 'off' | 'presigned';
    A2I_STORAGE_PRESIGN_SECONDS: number;
    A2I_UPLOADS_DIR?: string | undefined;
    A2I_RESULTS_DIR?: string | undefined;
  },
  cwd: string,
): { storage: StorageConfig; imageDelivery: ImageDelivery; uploadsDir: string; resultsDir: string; error: string | null } {
  const location = e.A2I_STORAGE;
  // file: the two folders under <dir> unless named one by one; s3: <dir> is var, and its uploads folder holds
  // the bodies an api is receiving and the inputs a worker fetched (local, transient)
  const base = location.kind === 'file' ? location.dir : 'var';
  const uploadsDir = resolve(cwd, e.A2I_UPLOADS_DIR ?? `${base}/uploads`);
  const resultsDir = resolve(cwd, e.A2I_RESULTS_DIR ?? `${base}/results`);
  const imageDelivery: ImageDelivery = { mode: e.A2I_STORAGE_REDIRECT === 'presigned' ? 'presigned' : 'stream', presignSeconds: e.A2I_STORAGE_PRESIGN_SECONDS };
  if (location.kind === 'file') {
    const error = imageDelivery.mode === 'presigned' ? 'Expected A2I_STORAGE=s3://... for A2I_STORAGE_REDIRECT=presigned (a directory has no presigned URLs)' : null;
    return { storage: { kind: 'file' }, imageDelivery, uploadsDir, resultsDir, error };
  }
  const storage: StorageConfig = {
    kind: 's3',
    bucket: location.bucket,
    prefix: location.prefix,
    ...(e.A2I_S3_ENDPOINT !== undefined ? { endpoint: e.A2I_S3_ENDPOINT.replace(/\/$/, '') } : {}),
    ...(e.A2I_S3_REGION !== undefined ? { region: e.A2I_S3_REGION } : {}),
    ...(e.A2I_S3_FORCE_PATH_STYLE !== undefined ? { forcePathStyle: e.A2I_S3_FORCE_PATH_STYLE } : {}),
  };
  return { storage, imageDelivery, uploadsDir, resultsDir, error: null };
}
