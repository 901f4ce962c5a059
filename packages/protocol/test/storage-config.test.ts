import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig, parseStorageUri, resultKey } from '../src/index.js';

describe('A2I_STORAGE and the storage variables', () => {
  it('parses file:<dir> and s3://bucket[/prefix], and nothing else', () => {
    expect(parseStorageUri('file:var')).toEqual({ kind: 'file', dir: 'var' });
    expect(parseStorageUri('file:/data/a2i')).toEqual({ kind: 'file', dir: '/data/a2i' });
    expect(parseStorageUri('file:///data/a2i')).toEqual({ kind: 'file', dir: '/data/a2i' });
    expect(parseStorageUri('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUri('s3://my.bucket-1/a2i/prod/')).toEqual({ kind: 's3', bucket: 'my.bucket-1', prefix: 'a2i/prod' });
    for (const bad of ['var', 'file:', 'file://host/dir', 's3://', 's3://UPPER', 's3://ab', 's3://bucket_name', 's3://b-ok/a//b', 's3://b-ok/../x', 'gs://bucket', 'https://bucket']) {
      expect({ bad, parsed: parseStorageUri(bad) }).toEqual({ bad, parsed: null });
    }
  });

  it('defaults to file:var: the folders of before, the images streamed', () => {
    const config = loadServerConfig({}, '/srv');
    expect(config.storage).toEqual({ kind: 'file' });
    expect([config.dirs.uploads, config.dirs.results]).toEqual(['/srv/var/uploads', '/srv/var/results']);
    expect(config.imageDelivery).toEqual({ mode: 'stream', presignSeconds: 300 });
  });

  it('puts both folders under file:<dir>; A2I_UPLOADS_DIR and A2I_RESULTS_DIR still name each on its own', () => {
    const under = loadServerConfig({ A2I_STORAGE: 'file:data' }, '/srv');
    expect([under.dirs.uploads, under.dirs.results]).toEqual(['/srv/data/uploads', '/srv/data/results']);
    const named = loadServerConfig({ A2I_STORAGE: 'file:/data', A2I_RESULTS_DIR: '/fast/results' }, '/srv');
    expect([named.dirs.uploads, named.dirs.results]).toEqual(['/data/uploads', '/fast/results']);
  });

  it('reads s3://: bucket, prefix, endpoint, region, path style, the presigned redirect', () => {
    const config = loadServerConfig(
      { A2I_STORAGE: 's3://media/a2i/', A2I_S3_ENDPOINT: 'http://127.0.0.1:9000/', A2I_S3_REGION: 'auto', A2I_S3_FORCE_PATH_STYLE: 'false', A2I_STORAGE_REDIRECT: 'presigned', A2I_STORAGE_PRESIGN_SECONDS: '60' },
      '/srv',
    );
    expect(config.storage).toEqual({ kind: 's3', bucket: 'media', prefix: 'a2i', endpoint: 'http://127.0.0.1:9000', region: 'auto', forcePathStyle: false });
    expect(config.imageDelivery).toEqual({ mode: 'presigned', presignSeconds: 60 });
    // the local folder an api receives bodies into (and a worker fetches inputs into)
    expect(config.dirs.uploads).toBe('/srv/var/uploads');
    expect(loadServerConfig({ A2I_STORAGE: 's3://media' }).storage).toEqual({ kind: 's3', bucket: 'media', prefix: '' });
  });

  it('refuses what cannot work, naming the variable', () => {
    expect(() => loadServerConfig({ A2I_STORAGE: 'var/data' })).toThrow(/for A2I_STORAGE but received "var\/data"/);
    expect(() => loadServerConfig({ A2I_STORAGE_REDIRECT: 'presigned' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ A2I_STORAGE_REDIRECT: 'presigned' })).toThrow(/A2I_STORAGE=s3/);
    expect(() => loadServerConfig({ A2I_STORAGE_REDIRECT: 'always', A2I_STORAGE: 's3://media' })).toThrow(/A2I_STORAGE_REDIRECT/);
    expect(() => loadServerConfig({ A2I_STORAGE: 's3://media', A2I_STORAGE_PRESIGN_SECONDS: '604801' })).toThrow(/A2I_STORAGE_PRESIGN_SECONDS/);
    expect(() => loadServerConfig({ A2I_STORAGE: 's3://media', A2I_S3_ENDPOINT: 'minio:9000' })).toThrow(/A2I_S3_ENDPOINT/);
    expect(() => loadServerConfig({ A2I_STORAGE: 's3://media', A2I_MAX_UPLOAD_BYTES: String(6 * 1024 ** 3) })).toThrow(/5 GiB/);
    expect(loadServerConfig({ A2I_MAX_UPLOAD_BYTES: String(6 * 1024 ** 3) }).limits.uploadBytes).toBe(6 * 1024 ** 3);
  });

  it('keys a result under its attempt only where each attempt writes apart (object storage)', () => {
    expect(resultKey('job', 0, 'png')).toBe('job/0.png');
    expect(resultKey('job', 2, 'jpeg', 3)).toBe('job/3/2.jpg');
  });
});
