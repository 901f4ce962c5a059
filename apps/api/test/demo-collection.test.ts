import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoCollection } from '../src/demo-collection.js';
import { startStack, type Stack } from './harness.js';

// What `npm start` does beside the start: the collection `demo` of the demo pack's samples,
// made through the public api, once; never in the way (every failure is a line in the log).
// samples/index.json: 5 scenes with an image and a sound, + one sound alone (44.1 kHz stereo): 11 items.
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));

describe('the demo collection', () => {
  let stack: Stack;
  let url: string;
  const said: string[] = [];
  const say = (message: string) => said.push(message);
  beforeAll(async () => {
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false', A2I_MAX_UPLOAD_FILES: '4' } });
    url = stack.urls[0]!;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('is made once of the sample images and sounds, with their scene as metadata, and is searchable', async () => {
    expect(await seedDemoCollection({ api: url, packDir: DEMO, say })).toBe('made the collection demo: 11 sample items');
    expect(await seedDemoCollection({ api: url, packDir: DEMO, say })).toBe('the collection demo exists already');
    expect(said).toEqual([]);
    const collection = (await (await fetch(`${url}/v1/collections/demo`)).json()) as { count: number; pack: string };
    expect(collection).toMatchObject({ count: 11, pack: 'demo' });
    const item = (await (await fetch(`${url}/v1/collections/demo/items/sea-bell.png`)).json()) as Record<string, unknown>;
    expect(item).toMatchObject({ modality: 'image', metadata: { sample: 'sea-bell', place: 'sea', caption: 'a large cyan ring in the sea' }, media: '/v1/collections/demo/items/sea-bell.png/media' });
    const found = (await (
      await fetch(`${url}/v1/collections/demo/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ modality: 'text', text: 'a large cyan ring in the sea' }], modality: 'image', k: 1 }),
      })
    ).json()) as { results: Array<{ id: string }> };
    expect(found.results.map((r) => r.id)).toEqual(['sea-bell.png']);
  }, 60_000);

  it('is skipped for another pack, and a server that never gets ready is reported, not thrown', async () => {
    const synthetic = await startStack();
    try {
      expect(await seedDemoCollection({ api: synthetic.urls[0]!, packDir: DEMO, say })).toMatch(/^skipped: the workers serve pack \S+, not the demo pack$/);
      expect((await fetch(`${synthetic.urls[0]}/v1/collections/demo`)).status).toBe(404);
    } finally {
      await synthetic.close();
    }
    expect(await seedDemoCollection({ api: 'http://127.0.0.1:9', packDir: DEMO, say, readyTimeoutMs: 300 })).toBe('skipped: the api at http://127.0.0.1:9 was not ready within 0 s');
  }, 60_000);
});
