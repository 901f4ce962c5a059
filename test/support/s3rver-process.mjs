// The test S3 server's own process (test/support/s3-server.ts starts it): s3rver on 127.0.0.1, a
// free port, objects in argv[2], one bucket argv[3]; prints `LISTENING <port>` and stops when its
// standard input closes (the test process ended, however it ended). argv[4] and argv[5], when
// given, are the address and port to listen on (the multi-host run's storage host).
// Run with --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with
// DES, which OpenSSL 3 (Node >= 17) leaves to its legacy provider.
import { createRequire } from 'node:module';

const S3rver = createRequire(import.meta.url)('@20minutes/s3rver');
const [directory, bucket, host = '127.0.0.1', port = '0'] = process.argv.slice(2);

/**
 * s3rver checks a SigV4 signature against the path it rebuilds from the bucket and key it
 * parsed, which drops the trailing '/' of a bucket-level request (`GET /bucket/?list-type=2`,
 * `HEAD /bucket/`) that AWS SDK v3 sends and signs in path style; S3 itself signs the path as
 * sent. For those requests only, this makes s3rver rebuild `/<bucket>/` (its virtual-host
 * form with a mount path of '/'), so the signature is still checked, over the path as sent.
 */
function signBucketPathAsSent(ctx, next) {
  if (/^\/[^/]+\/$/.test(ctx.path) && !ctx.state.vhost) {
    ctx.state.vhost = true;
    ctx.mountPath = '/';
  }
  return next();
}

const server = new S3rver({ address: host, port: Number(port), silent: process.env.S3RVER_LOG !== '1', directory, configureBuckets: [{ name: bucket }], vhostBuckets: false });
// before s3rver's router (the last middleware), which authenticates
server.middleware.splice(server.middleware.length - 1, 0, signBucketPathAsSent);
const address = await server.run();
process.stdout.write(`LISTENING ${address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
