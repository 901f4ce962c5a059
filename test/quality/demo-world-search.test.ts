import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../apps/api/test/harness.js';
import { measureDemoWorldSearch, packArithmeticWeights, type DemoWorldSearchFigures } from './demo-world-search.js';
import { worldPythonMissing, writeDemoWorldScenes } from './demo-world-scenes.js';

// Issue #13's demo-world quality targets, measured as the bench does (test/bench/search-quality.bench.ts,
// 600 scenes) on fewer queries: a real api + worker on the ONNX pipeline and the demo pack, the real
// LanceDB in a temp folder, Redis; everything through the HTTP API. Held-out scenes of seed 4
// (the pack saw seeds 1, 2, 3) are written by /usr/bin/python3 (Debian python3-numpy python3-scipy).
//
// INDEXED images are the candidates, the first QUERIED scenes are the queries: arithmetic's top-1
// needs an image of O on B close to the query's colour and size, which 100 indexed images often
// lack (91 % measured with 100 indexed, 100 % with 300 and 600), so the test indexes 300, as
// eval_demo.py searches 600.
//
// Thresholds: the issue's own (>= 95 % retrieval top-1 place+object and zero-shot, >= 90 %
// arithmetic), asserted as they are: every figure measured with these scenes (seed 4, 300
// indexed, 120 queried) is 96.7-100 % (POST /v1/classify object 96.7 %, thermal top-1 99.2 %, the rest 100 %), and the scenes are
// deterministic, so the assertions move only when the pack or the server changes.
const DEMO = fileURLToPath(new URL('../../models/demo', import.meta.url));
const INDEXED = 300;
const QUERIED = 120;
const missing = worldPythonMissing();
if (missing) console.warn(`demo-world search quality: SKIPPED: ${missing}`);

describe.skipIf(missing !== null)(`demo-world search quality through the HTTP API${missing ? ` (SKIPPED: ${missing})` : ''}`, () => {
  let stack: Stack;
  let scenesDir: string;
  let figures: DemoWorldSearchFigures;
  let weights: { image: number; audio: number };
  beforeAll(async () => {
    scenesDir = await mkdtemp(join(tmpdir(), 'a2i-world-scenes-'));
    writeDemoWorldScenes(scenesDir, INDEXED);
    stack = await startStack({ env: { A2I_PIPELINE: 'onnx', A2I_PACK_DIR: DEMO } });
    weights = await packArithmeticWeights(DEMO);
    figures = await measureDemoWorldSearch({ url: stack.urls[0]!, scenesDir, count: INDEXED, queries: QUERIED, arithmeticWeights: weights });
    console.log(`demo-world search quality (${INDEXED} indexed, ${QUERIED} queried): ${JSON.stringify({ retrieval: figures.retrieval, arithmetic: figures.arithmetic, zeroShot: { classify: figures.zeroShot.classify, ensembled: figures.zeroShot.ensembled } })}`);
  }, 110_000);
  afterAll(async () => {
    await stack?.close();
    if (scenesDir) await rm(scenesDir, { recursive: true, force: true });
  });

  it('indexes every image through ingest jobs and queries every scene', () => {
    expect(figures.ingest.items).toBe(INDEXED);
    expect(figures.retrieval.audio.queries).toBe(QUERIED);
    expect(figures.arithmetic.queries).toBe(QUERIED);
  });

  it.each(['audio', 'depth', 'thermal', 'text'] as const)('%s -> image: top-1 has the scene\'s place and object in >= 95 %% of queries', (modality) => {
    const r = figures.retrieval[modality];
    expect(r.top1PlaceAndObject).toBeGreaterThanOrEqual(0.95);
    // top-5 holds an image of the same kind whenever top-1 is one
    expect(r.top5PlaceAndObject).toBeGreaterThanOrEqual(r.top1PlaceAndObject);
  });

  it('thermal and text find the scene\'s own image in their top 5 (they see colour; sound and depth do not)', () => {
    expect(figures.retrieval.thermal.top5Own).toBeGreaterThanOrEqual(0.9);
    expect(figures.retrieval.text.top5Own).toBeGreaterThanOrEqual(0.9);
  });

  it("arithmetic: image of O on A + ambience of B, at the weights of the pack's report, retrieves O on B in >= 90 %", () => {
    expect(figures.arithmetic.weights).toEqual(weights);
    expect(weights.image + weights.audio).toBeCloseTo(1, 9);
    expect(figures.arithmetic.retrievedObjectOnNewPlace).toBeGreaterThanOrEqual(0.9);
  });

  it('zero-shot: the sounds are classified by place and by object in >= 95 %, by POST /v1/classify and by eval_demo\'s prompt ensembles', () => {
    expect(figures.zeroShot.classify.labels.place).toEqual(['in the sea', 'on the meadow', 'in the desert', 'under the night sky']);
    expect(figures.zeroShot.classify.place).toBeGreaterThanOrEqual(0.95);
    expect(figures.zeroShot.classify.object).toBeGreaterThanOrEqual(0.95);
    expect(figures.zeroShot.ensembled.place).toBeGreaterThanOrEqual(0.95);
    expect(figures.zeroShot.ensembled.object).toBeGreaterThanOrEqual(0.95);
  });
});
