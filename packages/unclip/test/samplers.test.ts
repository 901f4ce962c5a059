import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LatentPreview, prepareDecoder, preparePrior, sampleDecoder, samplePrior, UnclipError,
  type DecoderManifest, type PriorManifest, type SampleDecoderOptions, type SchedulerName, type StepProgress,
} from '../src/index.js';
import { loadFixture, maxScaledError } from './load-fixture.js';

// Reference runs: diffusers' schedulers, Stable unCLIP's noise_image_embeddings and its
// pipeline loop, with torch twins of the tiny ONNX models (fixtures/README.md).
interface Case {
  name: string; kind: 'decoder' | 'prior'; scheduler: SchedulerName; eta?: number; seeds: number[]; steps: number;
  guidanceScale: number; noiseLevel?: number; schedulerConfig: DecoderManifest['scheduler']; timesteps: number[];
  latents?: number[]; images?: number[]; imageEmbeddings?: number[];
}
interface Reference {
  manifest: { decoder: Omit<DecoderManifest, 'scheduler'>; prior: Omit<PriorManifest, 'scheduler'> };
  rawEmbeddings: number[];
  promptHiddenStates: { conditional: number[]; unconditional: number[] };
  cases: Case[];
}
const reference = loadFixture<Reference>('sampler-reference.json');
const D = 8;
const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let unetInt64: ort.InferenceSession;
let unetFloat: ort.InferenceSession;
let vae: ort.InferenceSession;
let prior: ort.InferenceSession;
beforeAll(async () => {
  const open = (file: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(fixturePath(file));
  [unetInt64, unetFloat, vae, prior] = await Promise.all([
    open('unet-int64.onnx'), open('unet-float.onnx'), open('vae-decoder.onnx'), open('prior.onnx'),
  ]);
});

/** Delegates to a real session and records every run's feeds. */
function recording(session: ort.InferenceSession, onRun: (feeds: Record<string, ort.Tensor>) => void = () => {}): {
  session: ort.InferenceSession; calls: Array<Record<string, ort.Tensor>>;
} {
  const calls: Array<Record<string, ort.Tensor>> = [];
  const proxy = new Proxy(session, {
    get(target, prop) {
      if (prop === 'run') {
        return (feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => {
          calls.push(feeds);
          onRun(feeds);
          return (target.run as (...args: unknown[]) => Promise<unknown>)(feeds, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { session: proxy, calls };
}

function decoderManifest(c?: Case): DecoderManifest {
  return { ...reference.manifest.decoder, scheduler: c?.schedulerConfig ?? reference.cases[0]!.schedulerConfig } as DecoderManifest;
}

function decoderOptions(c: Case, overrides: Partial<SampleDecoderOptions> = {}): SampleDecoderOptions {
  return {
    unet: c.scheduler === 'euler' ? unetFloat : unetInt64,
    vae,
    manifestDecoder: decoderManifest(c),
    imageEmbeddings: Float32Array.from(reference.rawEmbeddings.slice(0, c.seeds.length * D)),
    promptHiddenStates: {
      conditional: Float32Array.from(reference.promptHiddenStates.conditional),
      unconditional: Float32Array.from(reference.promptHiddenStates.unconditional),
    },
    noiseLevel: c.noiseLevel ?? 0,
    seeds: c.seeds,
    steps: c.steps,
    guidanceScale: c.guidanceScale,
    scheduler: c.scheduler,
    schedulerOptions: { eta: c.eta ?? 0 },
    ...overrides,
  };
}

describe('sampleDecoder equals the diffusers reference loop', () => {
  for (const c of reference.cases.filter((x) => x.kind === 'decoder')) {
    it(c.name, async () => {
      const result = await sampleDecoder(decoderOptions(c));
      expect(result.timesteps).toEqual(c.timesteps);
      // float32 ONNX vs float32 torch arithmetic: 1e-5 (absolute up to 1, relative above)
      expect(maxScaledError(result.latents, c.latents!)).toBeLessThan(1e-5);
      const bytes = result.images!.flatMap((image) => Array.from(image.data));
      expect(result.images!.map((i) => [i.width, i.height])).toEqual(c.seeds.map(() => [8, 8]));
      // bytes: equal except where a value sits on a rounding boundary (at most 1 level)
      expect(Math.max(...bytes.map((b, i) => Math.abs(b - c.images![i]!)))).toBeLessThanOrEqual(1);
    });
  }
});

describe('samplePrior equals the diffusers reference loop', () => {
  for (const c of reference.cases.filter((x) => x.kind === 'prior')) {
    it(c.name, async () => {
      const result = await samplePrior({
        session: prior,
        manifestPrior: { ...reference.manifest.prior, scheduler: c.schedulerConfig } as PriorManifest,
        condition: [Float32Array.from(reference.rawEmbeddings.slice(0, D))],
        seeds: c.seeds, steps: c.steps, guidanceScale: c.guidanceScale, scheduler: c.scheduler,
      });
      expect(result.timesteps).toEqual(c.timesteps);
      expect(maxScaledError(result.imageEmbeddings, c.imageEmbeddings!)).toBeLessThan(1e-5);
    });
  }
});

describe('sampleDecoder batching, progress, previews, cancel', () => {
  const base = reference.cases[0]!; // ddim, CFG 3, seeds [3, 4], 5 steps

  it('runs ONE unet call per step over [uncond; cond] rows, and B rows without guidance', async () => {
    const guided = recording(unetInt64);
    await sampleDecoder(decoderOptions(base, { unet: guided.session, vae: null }));
    expect(guided.calls).toHaveLength(base.steps);
    for (const feeds of guided.calls) {
      expect(feeds.sample!.dims).toEqual([4, 4, 4, 4]); // 2 images x [uncond; cond]
      expect(feeds.timestep!.type).toBe('int64');
      const labels = feeds.class_labels!.data as Float32Array;
      expect(labels.subarray(0, 2 * 2 * D).every((x) => x === 0)).toBe(true); // unconditional rows: zeros
      expect(labels.subarray(2 * 2 * D).some((x) => x !== 0)).toBe(true);
    }
    // the guided batch is refilled in place: one sample tensor, one class-label tensor for the run
    expect(new Set(guided.calls.map((f) => f.sample)).size).toBe(1);
    expect(new Set(guided.calls.map((f) => f.class_labels)).size).toBe(1);
    const plain = recording(unetInt64);
    await sampleDecoder(decoderOptions(base, { unet: plain.session, vae: null, guidanceScale: 1 }));
    expect(plain.calls.map((f) => f.sample!.dims[0])).toEqual(new Array(base.steps).fill(2));
  });

  it('image i of a batch with seeds [s, s + 1] is the image of seed s + i alone', async () => {
    const both = await sampleDecoder(decoderOptions(base));
    const second = await sampleDecoder(decoderOptions(base, {
      seeds: [4], imageEmbeddings: Float32Array.from(reference.rawEmbeddings.slice(D, 2 * D)),
    }));
    const latentSize = 4 * 4 * 4;
    expect(maxScaledError(both.latents.subarray(latentSize), second.latents)).toBeLessThan(1e-6);
    expect(both.images![1]!.data).toEqual(second.images![0]!.data);
  });

  it('reports progress per step and previews every N steps', async () => {
    const progress: StepProgress[] = [];
    const previews: Array<{ step: number; sizes: number[][] }> = [];
    await sampleDecoder(decoderOptions(base, {
      steps: 7,
      onProgress: (p) => progress.push(p),
      previewEvery: 3,
      onPreview: (p) => previews.push({ step: p.step, sizes: p.images.map((i) => [i.width, i.height, i.data.length]) }),
    }));
    expect(progress.map((p) => [p.stage, p.step, p.steps])).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => ['decode', s, 7]));
    expect(previews).toEqual([3, 6].map((step) => ({ step, sizes: [[4, 4, 48], [4, 4, 48]] })));
  });

  it('a cancel during step k stops before step k + 1 starts', async () => {
    const controller = new AbortController();
    const k = 3;
    const spy = recording(unetInt64, () => {
      if (spy.calls.length === k) controller.abort(new Error('user cancelled'));
    });
    const run = sampleDecoder(decoderOptions(base, { unet: spy.session, steps: 10, signal: controller.signal }));
    await expect(run).rejects.toMatchObject({ code: 'SAMPLING_ABORTED', fault: 'input' });
    expect(spy.calls).toHaveLength(k);
  });

  it('an already-aborted signal runs no step', async () => {
    const spy = recording(unetInt64);
    await expect(sampleDecoder(decoderOptions(base, { unet: spy.session, signal: AbortSignal.abort() })))
      .rejects.toBeInstanceOf(UnclipError);
    expect(spy.calls).toHaveLength(0);
  });

  it('a non-finite model output (a float16 overflow) fails the run at that step, naming the model', async () => {
    let calls = 0;
    const overflowing = new Proxy(unetInt64, {
      get(target, prop) {
        if (prop === 'run') {
          return async (...args: unknown[]) => {
            const out = await (target.run as (...a: unknown[]) => Promise<Record<string, ort.Tensor>>)(...args);
            if (++calls === 2) (Object.values(out)[0]!.data as Float32Array)[5] = Number.POSITIVE_INFINITY;
            return out;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(sampleDecoder(decoderOptions(base, { unet: overflowing, steps: 4 })))
      .rejects.toMatchObject({ code: 'MODEL_OUTPUT_INVALID', message: expect.stringMatching(/UNet model's output .* non-finite value \(Infinity at index 5\)/) as string });
    expect(calls).toBe(2);
  });

  it('reads the timestep type from the model: float32 for unet-float, refused fractions for int64', async () => {
    const spy = recording(unetFloat);
    await sampleDecoder(decoderOptions(base, { unet: spy.session, vae: null, steps: 2 }));
    expect(spy.calls[0]!.timestep!.type).toBe('float32');
    const linspace = { ...decoderManifest(base), scheduler: { ...base.schedulerConfig, timestepSpacing: 'linspace' as const } };
    await expect(sampleDecoder(decoderOptions(base, { manifestDecoder: linspace, scheduler: 'euler', steps: 3 })))
      .rejects.toMatchObject({ code: 'TIMESTEP_NOT_INTEGER' });
  });

  it('refuses bad requests with typed errors', async () => {
    const bad = async (overrides: Partial<SampleDecoderOptions>): Promise<unknown> =>
      sampleDecoder(decoderOptions(base, overrides)).then(() => null, (e: unknown) => e);
    expect(await bad({ promptHiddenStates: undefined })).toMatchObject({ code: 'PROMPT_CONDITIONING_REQUIRED' });
    expect(await bad({ steps: 201 })).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringMatching(/decoder steps/) as string });
    expect(await bad({ seeds: undefined })).toMatchObject({ code: 'SEEDS_REQUIRED' });
    expect(await bad({ seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).toMatchObject({ code: 'INVALID_OPTION' });
    expect(await bad({ scheduler: 'lms' as SchedulerName })).toMatchObject({ code: 'INVALID_OPTION' });
    expect(await bad({ imageEmbeddings: new Float32Array(5) })).toMatchObject({ code: 'TENSOR_SIZE_MISMATCH' });
    expect(await bad({ unet: prior })).toMatchObject({ code: 'MODEL_SIGNATURE_MISMATCH' });
    expect(await bad({ noiseLevel: 1000 })).toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('accepts initialNoise in place of seeds for a deterministic scheduler', async () => {
    const seeded = await sampleDecoder(decoderOptions(base, { vae: null }));
    const { philoxNormals, NOISE_DOMAINS } = await import('../src/index.js');
    const initialNoise = Float32Array.from([...philoxNormals(3, 64), ...philoxNormals(4, 64)]);
    const augmentationNoise = Float32Array.from([
      ...philoxNormals(3, D, { domain: NOISE_DOMAINS.noiseAugmentation }), ...philoxNormals(4, D, { domain: NOISE_DOMAINS.noiseAugmentation }),
    ]);
    const given = await sampleDecoder(decoderOptions(base, { vae: null, seeds: undefined, initialNoise, augmentationNoise }));
    expect(given.latents).toEqual(seeded.latents);
  });
});

describe('prepared models (a pack resolved once, when a worker opens it)', () => {
  const base = reference.cases.find((c) => c.kind === 'decoder' && c.scheduler !== 'euler')!;

  it('a prepared decoder samples the same bytes as the raw manifest section, and is not re-read per request', async () => {
    const manifest = structuredClone(decoderManifest(base));
    const decoder = prepareDecoder(unetInt64, vae, manifest);
    const { unet: _u, vae: _v, manifestDecoder: _m, ...request } = decoderOptions(base) as Extract<SampleDecoderOptions, { unet: unknown }>;
    const raw = await sampleDecoder(decoderOptions(base));
    // Spoil the raw section after preparing: a prepared decoder reads only what it resolved.
    (manifest as { latentShape: unknown }).latentShape = 'not a shape';
    (manifest.unet.inputs as { sample: string }).sample = '';
    const prepared = await sampleDecoder({ ...request, decoder });
    expect(prepared.images![0]!.data).toEqual(raw.images![0]!.data);
    expect(maxScaledError(prepared.latents, raw.latents)).toBe(0);
  });

  it('refuses a bad section when prepared, naming the field', () => {
    const bad = { ...decoderManifest(base), latentShape: [4, 4] } as DecoderManifest;
    expect(() => prepareDecoder(unetInt64, vae, bad)).toThrow(UnclipError);
    expect(() => prepareDecoder(unetInt64, vae, bad)).toThrow(/decoder\.latentShape/);
    const renamed = { ...decoderManifest(base), unet: { ...decoderManifest(base).unet, output: 'nope' } } as DecoderManifest;
    expect(() => prepareDecoder(unetInt64, vae, renamed)).toThrow(/no output "nope"/);
    const priorManifest = { ...reference.manifest.prior, scheduler: base.schedulerConfig, inputs: { ...reference.manifest.prior.inputs, condition: 'missing' } } as PriorManifest;
    expect(() => preparePrior(prior, priorManifest)).toThrow(/no input "missing"/);
  });
});

describe('LatentPreview', () => {
  it('maps each latent pixel through W and b to bytes', () => {
    // 2 channels, 1 x 2 pixels; W [2][3], b [3]
    const preview = new LatentPreview([2, 1, 2], [[1, 0, 0.5], [0, 1, 0.5]], [0, 0, -0.5]);
    const [image] = preview.render(Float32Array.from([1, -1, 0.5, 0])); // channel 0: [1, -1]; channel 1: [0.5, 0]
    // pixel 0: rgb = [1, 0.5, 0.25]; pixel 1: [-1, 0, -1] ; byte = round((v + 1) / 2 * 255)
    expect(Array.from(image!.data)).toEqual([255, 191, 159, 0, 128, 0]);
    expect([image!.width, image!.height]).toEqual([2, 1]);
    expect(() => new LatentPreview([4, 1, 1], [[1, 0, 0]], [0, 0, 0])).toThrowError(/decoder.preview.latentToRgb/);
  });
});
