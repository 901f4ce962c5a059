import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A real S3-protocol server on loopback for the tests: s3rver (its maintained fork
 * @20minutes/s3rver 4.x, for Node 20), an npm devDependency, pure JavaScript, nothing
 * downloaded at install, run in a process of its own (s3rver-process.mjs). It stores objects in
 * a temporary folder, checks SigV4 signatures of requests and of presigned URLs (keys S3RVER /
 * S3RVER) and their expiry, and implements the calls the server uses (HeadBucket, PutObject,
 * GetObject, HeadObject, DeleteObject, ListObjectsV2 with continuation, presigned GetObject with
 * response-content-type / response-cache-control).
 * Its limits (README "Storage"): it needs two adjustments here (a path it signs differently
 * from S3, DES continuation tokens: see s3rver-process.mjs); no aws-chunked bodies with
 * trailing checksums (the client sends checksums only where S3 requires them); no versioning,
 * lifecycle rules, multipart copy, conditional writes or object locks; one process's memory
 * and one folder; second-resolution LastModified.
 */
export interface TestS3Server {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** A fresh bucket, made when the server started. */
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The A2I_* variables of a server configuration on this bucket (`prefix`: the key prefix). */
  env(prefix?: string): Record<string, string>;
  close(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MAIN = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url));
const START_TIMEOUT_MS = 15_000;

export async function startTestS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'a2i-s3-'));
  const bucket = `a2i-test-${randomBytes(4).toString('hex')}`;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, directory, bucket], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Expected the test S3 server to listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`The test S3 server exited (${code}) before it listened`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    credentials: CREDENTIALS,
    env: (prefix = 'a2i') => ({ A2I_STORAGE: `s3://${bucket}/${prefix}`, A2I_S3_ENDPOINT: endpoint, A2I_S3_REGION: 'us-east-1' }),
    async close() {
      child.stdin!.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Sets the AWS SDK's credential variables of this process (its default chain reads them), as an operator would. */
export function useTestS3Credentials(server: Pick<TestS3Server, 'credentials'>): void {
  process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
}
