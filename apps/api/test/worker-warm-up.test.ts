import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { json, multipart, useStack } from './harness.js';

// A worker warms its pipeline up before it counts as ready (A2I_WARM_UP), and serves only the
// modalities of A2I_MODALITIES: the api refuses the others at POST, as for a pack without them.
const DEMO = fileURLToPath(new URL('../../../models/demo', import.meta.url));
const sample = (name: string) => readFileSync(join(DEMO, 'samples', name));

async function postGeneration(url: string, modality: string, file: string, type: string): Promise<Response> {
  const body = multipart({ inputs: [{ modality, file: 'input', weight: 1 }], steps: 2 }, { input: { bytes: sample(file), type } });
  return fetch(`${url}/v1/generations`, { method: 'POST', body });
}

describe('a worker on the demo pack with A2I_MODALITIES=audio,text', () => {
  const run = useStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false', A2I_MODALITIES: 'audio,text' } });

  it('publishes only audio, text and embedding', async () => {
    const pack = await fetch(`${run.url}/v1/pack`).then(json);
    expect(pack.modalities).toEqual(['audio', 'text', 'embedding']);
  });

  it('refuses an image input at POST with UNSUPPORTED_MODALITY and takes a sound', async () => {
    const refused = await postGeneration(run.url, 'image', 'sea-bell.png', 'image/png');
    expect(refused.status).toBe(400);
    expect((await json(refused)).error.code).toBe('UNSUPPORTED_MODALITY');
    expect((await postGeneration(run.url, 'audio', 'sea-bell.wav', 'audio/wav')).status).toBe(202);
  });

  it('reports its warm-up at /readyz (on by default)', async () => {
    const ready = await fetch(`${run.url}/readyz`).then(json);
    expect(ready).toMatchObject({ ready: true, workers: 1, pack: 'demo' });
    expect(ready.warmUpMs).toBeGreaterThan(0);
  });
});

describe('a worker with A2I_WARM_UP=false', () => {
  const run = useStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO, A2I_PACK_VERIFY_CHECKSUMS: 'false', A2I_WARM_UP: 'false' } });

  it('reports no warm-up at /readyz', async () => {
    const ready = await fetch(`${run.url}/readyz`).then(json);
    expect(ready).toMatchObject({ ready: true, warmUpMs: null });
  });
});

describe('a synthetic worker with A2I_MODALITIES=audio', () => {
  const run = useStack({ env: { A2I_MODALITIES: 'audio' } });

  it('publishes only audio and embedding, whatever the pipeline offers, and has no warm-up to report', async () => {
    const pack = await fetch(`${run.url}/v1/pack`).then(json);
    expect(pack.modalities).toEqual(['audio', 'embedding']);
    expect((await fetch(`${run.url}/readyz`).then(json)).warmUpMs).toBeNull();
  });
});
