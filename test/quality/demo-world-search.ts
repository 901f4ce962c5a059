/**
 * Demo-world search quality, measured through the HTTP API only (issue #13, "Measured, side by
 * side"): held-out scenes written by models/recipes/world_scenes.py are indexed as images in a
 * fresh collection, then queried with each scene's other modalities, as a client would.
 *
 *   retrieval    each scene's sound, depth, thermal and caption searches the images (k 5,
 *                modality image): top-1 has the scene's place and object; top-5 holds the
 *                scene's own image; top-5 holds an image of its place and object
 *   arithmetic   image of O on A (weight wi) + the ambience alone of place B (weight wa), as
 *                eval_demo.py defines it (each input unit-normalised, weighted, summed: the
 *                worker's combineEmbeddings): the top-1 image other than the query image itself
 *                shows O on B. Weights: eval_demo's choice on its validation split (the pack's
 *                report.json arithmetic.weights: packArithmeticWeights) unless given
 *   zero-shot    each sound classified by POST /v1/classify against one caption per place
 *                ("in the sea", ...) and one per object ("a circle", ...); and as eval_demo.py
 *                does it (CLIP's prompt ensembling): against the mean unit embedding of every
 *                caption of the world naming the class, from POST /v1/embeddings
 *
 * Ingest follows the server's limits (POST .../items/lookup tells them) and polls each ingest
 * job (GET /v1/collections/:name/jobs/:id) to its end. The collection is dropped at the end
 * unless `keepCollection`.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DemoWorldScene {
  index: number;
  name: string;
  place: string;
  object: string;
  colour: string;
  size: string;
  caption: string;
  /** The place B of the arithmetic query's ambience. */
  ambiencePlace: string;
  files: { image: string; sound: string; depth: string; thermal: string; caption: string; ambience: string };
}

/** models/recipes/world_scenes.py's index.json. */
export interface DemoWorldIndex {
  seed: number;
  count: number;
  places: string[];
  objects: string[];
  /** One zero-shot caption per class. */
  labels: { place: Record<string, string>; object: Record<string, string> };
  /** Every caption naming the class (eval_demo.py's prompt ensemble). */
  prompts: { place: Record<string, string[]>; object: Record<string, string[]> };
  scenes: DemoWorldScene[];
}

export interface DemoWorldSearchOptions {
  /** The api, e.g. http://127.0.0.1:8080 */
  url: string;
  /** A folder written by world_scenes.py. */
  scenesDir: string;
  /** The first `count` scenes of the folder are indexed (default: all). */
  count?: number;
  /** The first `queries` indexed scenes are queried (default: all of them). The candidates
   * stay `count` images: eval_demo.py searches 600, and arithmetic's top-1 needs an O on B
   * image near the query's colour and size, which a small collection often lacks. */
  queries?: number;
  /** Sent as X-API-Key when the server has keys. */
  apiKey?: string;
  /** Collection name (default: a fresh `world-<hex>`). */
  collection?: string;
  /** Arithmetic weights (eval_demo.py's choice: packArithmeticWeights(pack)). */
  arithmeticWeights: { image: number; audio: number };
  /** Texts per POST /v1/embeddings (the server's A2I_MAX_INPUTS; default 8, its default). */
  inputsPerRequest?: number;
  /** Requests in flight while querying (default 4). */
  concurrency?: number;
  keepCollection?: boolean;
  log?: (line: string) => void;
}

export interface RetrievalFigures {
  queries: number;
  /** top-1 image has the scene's place and object */
  top1PlaceAndObject: number;
  top1Place: number;
  top1Object: number;
  /** the scene's own image is among the top 5 */
  top5Own: number;
  /** an image of the scene's place and object is among the top 5 */
  top5PlaceAndObject: number;
}

export interface DemoWorldSearchFigures {
  /** images indexed */
  scenes: number;
  seed: number;
  collection: string;
  ingest: { items: number; requests: number; itemsPerRequest: number; seconds: number };
  retrieval: { audio: RetrievalFigures; depth: RetrievalFigures; thermal: RetrievalFigures; text: RetrievalFigures };
  arithmetic: { weights: { image: number; audio: number }; queries: number; retrievedObjectOnNewPlace: number; retrievedNewPlace: number; retrievedObject: number };
  zeroShot: {
    /** POST /v1/classify, one caption per class */
    classify: { labels: { place: string[]; object: string[] }; place: number; object: number };
    /** eval_demo.py's definition: mean of every caption naming the class */
    ensembled: { captionsPerClass: { place: number; object: number }; place: number; object: number };
  };
  /** the query phase: requests made and their wall time */
  queries: { requests: number; seconds: number };
}

/** eval_demo.py's arithmetic weights, chosen on its validation split: the pack's report.json `arithmetic.weights`. */
export async function packArithmeticWeights(packDir: string): Promise<{ image: number; audio: number }> {
  const report = JSON.parse(await readFile(join(packDir, 'report.json'), 'utf8')) as { arithmetic?: { weights?: { image?: unknown; audio?: unknown } } };
  const { image, audio } = report.arithmetic?.weights ?? {};
  if (typeof image !== 'number' || typeof audio !== 'number') throw new TypeError(`Expected arithmetic.weights { image, audio } in ${join(packDir, 'report.json')}`);
  return { image, audio };
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface SearchHit {
  id: string;
  score: number;
  metadata: Record<string, string | number | boolean>;
}

class Client {
  requests = 0;
  constructor(
    private readonly url: string,
    private readonly apiKey: string | undefined,
  ) {}

  async call(method: string, path: string, body?: unknown, expected = 200): Promise<Json> {
    const headers: Record<string, string> = {};
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    this.requests++;
    const response = await fetch(`${this.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`Expected ${expected} for ${method} ${path} but received ${response.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : null;
  }
}

/** A multipart body: the `request` JSON field and one part per [name, bytes, mime]. */
function multipart(request: unknown, parts: Array<[string, Uint8Array, string]>): FormData {
  const form = new FormData();
  form.set('request', JSON.stringify(request));
  for (const [name, bytes, mime] of parts) form.set(name, new Blob([bytes], { type: mime }), name);
  return form;
}

/** Runs `task` over `items` with at most `limit` in flight; results in order. */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const fraction = (hits: boolean[]) => (hits.length === 0 ? Number.NaN : hits.filter(Boolean).length / hits.length);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unit(v: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (!(n > 0)) throw new RangeError('Expected a non-zero embedding but received the zero vector');
  return Float64Array.from(v, (x) => x / n);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const imageId = (scene: DemoWorldScene) => scene.files.image;

export async function measureDemoWorldSearch(options: DemoWorldSearchOptions): Promise<DemoWorldSearchFigures> {
  const log = options.log ?? (() => undefined);
  const index = JSON.parse(await readFile(join(options.scenesDir, 'index.json'), 'utf8')) as DemoWorldIndex;
  const count = options.count ?? index.scenes.length;
  if (!Number.isInteger(count) || count < 2 || count > index.scenes.length) {
    throw new RangeError(`Expected an integer in 2..${index.scenes.length} for count but received ${count}`);
  }
  const queryCount = options.queries ?? count;
  if (!Number.isInteger(queryCount) || queryCount < 1 || queryCount > count) {
    throw new RangeError(`Expected an integer in 1..${count} for queries but received ${queryCount}`);
  }
  const weights = options.arithmeticWeights;
  const concurrency = options.concurrency ?? 4;
  const scenes = index.scenes.slice(0, count);
  const bytes = (file: string) => readFile(join(options.scenesDir, file));
  const client = new Client(options.url.replace(/\/$/, ''), options.apiKey);
  const collection = options.collection ?? `world-${randomBytes(5).toString('hex')}`;
  const base = `/v1/collections/${collection}`;

  await client.call('POST', '/v1/collections', { name: collection, description: `demo world, seed ${index.seed}, ${count} held-out scenes` }, 201);
  try {
    // 1. ingest the images, in batches within the server's per-request limits
    const ingestStarted = performance.now();
    const { limits } = await client.call('POST', `${base}/items/lookup`, { ids: [] });
    const batch = Math.min(limits.itemsPerRequest, limits.filesPerRequest) as number;
    const batches: DemoWorldScene[][] = [];
    for (let i = 0; i < scenes.length; i += batch) batches.push(scenes.slice(i, i + batch));
    await pool(batches, 2, async (group) => {
      const parts: Array<[string, Uint8Array, string]> = [];
      const items = await Promise.all(
        group.map(async (scene, k) => {
          parts.push([`f${k}`, await bytes(scene.files.image), 'image/png']);
          return { id: imageId(scene), modality: 'image', file: `f${k}`, metadata: { place: scene.place, object: scene.object, colour: scene.colour, size: scene.size, scene: scene.index } };
        }),
      );
      const created = await client.call('POST', `${base}/items`, multipart({ items }, parts), 202);
      const headers = { 'x-job-token': created.token as string };
      for (;;) {
        const response = await fetch(`${options.url}${created.links.self}`, { headers });
        const status = (await response.json()) as Json;
        if (response.status !== 200) throw new Error(`Expected 200 for GET ${created.links.self} but received ${response.status}: ${JSON.stringify(status)}`);
        if (status.status === 'succeeded') {
          if (status.result.failed.length > 0 || status.result.stored.length !== group.length) {
            throw new Error(`Expected ${group.length} items stored by ingest job ${created.id} but received ${JSON.stringify(status.result)}`);
          }
          return;
        }
        if (status.status === 'failed' || status.status === 'canceled') throw new Error(`Expected ingest job ${created.id} to succeed but it ended ${status.status}: ${JSON.stringify(status.error)}`);
        await sleep(100);
      }
    });
    const stored = await client.call('GET', base);
    if (stored.count !== count) throw new Error(`Expected ${count} items in collection ${collection} but received ${stored.count}`);
    const ingest = { items: count, requests: batches.length, itemsPerRequest: batch, seconds: (performance.now() - ingestStarted) / 1000 };
    log(`ingested ${count} images in ${batches.length} requests (${ingest.seconds.toFixed(1)} s)`);

    // 2. the prompt ensembles, embedded through POST /v1/embeddings (at most `inputs` texts each)
    const queryStarted = performance.now();
    const requestsBefore = client.requests;
    const maxInputs = options.inputsPerRequest ?? 8;
    const embedTexts = async (texts: string[]): Promise<Float64Array[]> => {
      const chunks: string[][] = [];
      for (let i = 0; i < texts.length; i += maxInputs) chunks.push(texts.slice(i, i + maxInputs));
      const answers = await pool(chunks, concurrency, (chunk) => client.call('POST', '/v1/embeddings', { inputs: chunk.map((text) => ({ modality: 'text', text, weight: 1 })) }));
      return answers.flatMap((a) => (a.vectors as number[][]).map(unit));
    };
    const ensembles = { place: [] as Float64Array[], object: [] as Float64Array[] };
    for (const key of ['place', 'object'] as const) {
      const classes = key === 'place' ? index.places : index.objects;
      for (const c of classes) {
        const vectors = await embedTexts(index.prompts[key][c]!);
        const mean = new Float64Array(vectors[0]!.length);
        for (const v of vectors) for (let d = 0; d < mean.length; d++) mean[d]! += v[d]! / vectors.length;
        ensembles[key].push(unit(mean));
      }
    }
    const labels = { place: index.places.map((p) => index.labels.place[p]!), object: index.objects.map((o) => index.labels.object[o]!) };

    // 3. every scene's queries
    const search = async (inputs: unknown[], parts: Array<[string, Uint8Array, string]>, k: number): Promise<SearchHit[]> => {
      const request = { inputs, k, modality: 'image' };
      const answer = await client.call('POST', `${base}/search`, parts.length ? multipart(request, parts) : request);
      return answer.results as SearchHit[];
    };
    const judge = (scene: DemoWorldScene, hits: SearchHit[]) => {
      const same = (h: SearchHit) => h.metadata.place === scene.place && h.metadata.object === scene.object;
      const top = hits[0];
      return {
        top1PlaceAndObject: top !== undefined && same(top),
        top1Place: top?.metadata.place === scene.place,
        top1Object: top?.metadata.object === scene.object,
        top5Own: hits.slice(0, 5).some((h) => h.id === imageId(scene)),
        top5PlaceAndObject: hits.slice(0, 5).some(same),
      };
    };
    const classify = async (sound: Uint8Array, set: string[]): Promise<number> => {
      const answer = await client.call('POST', '/v1/classify', multipart({ inputs: [{ modality: 'audio', file: 'q', weight: 1 }], labels: set }, [['q', sound, 'audio/wav']]));
      return set.indexOf(answer.labels[0].label as string);
    };
    const argmax = (v: Float64Array, classes: Float64Array[]) => classes.reduce((best, c, i) => (dot(v, c) > dot(v, classes[best]!) ? i : best), 0);

    let done = 0;
    const perScene = await pool(scenes.slice(0, queryCount), concurrency, async (scene) => {
      const [sound, depth, thermal, image, ambience] = await Promise.all([scene.files.sound, scene.files.depth, scene.files.thermal, scene.files.image, scene.files.ambience].map(bytes));
      const audioHits = await search([{ modality: 'audio', file: 'q', weight: 1 }], [['q', sound!, 'audio/wav']], 5);
      const depthHits = await search([{ modality: 'depth', file: 'q', weight: 1 }], [['q', depth!, 'image/png']], 5);
      const thermalHits = await search([{ modality: 'thermal', file: 'q', weight: 1 }], [['q', thermal!, 'image/png']], 5);
      const textHits = await search([{ modality: 'text', text: scene.caption, weight: 1 }], [], 5);
      // eval_demo.arithmetic_retrieval: top-1 among the images other than the query image itself
      const arithmeticHits = await search(
        [
          { modality: 'image', file: 'img', weight: weights.image },
          { modality: 'audio', file: 'amb', weight: weights.audio },
        ],
        [
          ['img', image!, 'image/png'],
          ['amb', ambience!, 'audio/wav'],
        ],
        2,
      );
      const arithmeticTop = arithmeticHits.find((h) => h.id !== imageId(scene));
      const placeByClassify = await classify(sound!, labels.place);
      const objectByClassify = await classify(sound!, labels.object);
      const embedded = await client.call('POST', '/v1/embeddings', multipart({ inputs: [{ modality: 'audio', file: 'q', weight: 1 }] }, [['q', sound!, 'audio/wav']]));
      const soundVector = unit(embedded.vectors[0] as number[]);
      done++;
      if (done % 100 === 0) log(`queried ${done}/${queryCount} scenes (${((performance.now() - queryStarted) / 1000).toFixed(0)} s)`);
      return {
        audio: judge(scene, audioHits),
        depth: judge(scene, depthHits),
        thermal: judge(scene, thermalHits),
        text: judge(scene, textHits),
        arithmetic: {
          objectOnNewPlace: arithmeticTop?.metadata.object === scene.object && arithmeticTop?.metadata.place === scene.ambiencePlace,
          newPlace: arithmeticTop?.metadata.place === scene.ambiencePlace,
          object: arithmeticTop?.metadata.object === scene.object,
        },
        zeroShot: {
          classifyPlace: index.places[placeByClassify] === scene.place,
          classifyObject: index.objects[objectByClassify] === scene.object,
          ensembledPlace: index.places[argmax(soundVector, ensembles.place)] === scene.place,
          ensembledObject: index.objects[argmax(soundVector, ensembles.object)] === scene.object,
        },
      };
    });

    const retrieval = (key: 'audio' | 'depth' | 'thermal' | 'text'): RetrievalFigures => ({
      queries: perScene.length,
      top1PlaceAndObject: fraction(perScene.map((r) => r[key].top1PlaceAndObject)),
      top1Place: fraction(perScene.map((r) => r[key].top1Place)),
      top1Object: fraction(perScene.map((r) => r[key].top1Object)),
      top5Own: fraction(perScene.map((r) => r[key].top5Own)),
      top5PlaceAndObject: fraction(perScene.map((r) => r[key].top5PlaceAndObject)),
    });
    return {
      scenes: count,
      seed: index.seed,
      collection,
      ingest,
      retrieval: { audio: retrieval('audio'), depth: retrieval('depth'), thermal: retrieval('thermal'), text: retrieval('text') },
      arithmetic: {
        weights: { ...weights },
        queries: perScene.length,
        retrievedObjectOnNewPlace: fraction(perScene.map((r) => r.arithmetic.objectOnNewPlace)),
        retrievedNewPlace: fraction(perScene.map((r) => r.arithmetic.newPlace)),
        retrievedObject: fraction(perScene.map((r) => r.arithmetic.object)),
      },
      zeroShot: {
        classify: { labels, place: fraction(perScene.map((r) => r.zeroShot.classifyPlace)), object: fraction(perScene.map((r) => r.zeroShot.classifyObject)) },
        ensembled: {
          captionsPerClass: { place: index.prompts.place[index.places[0]!]!.length, object: index.prompts.object[index.objects[0]!]!.length },
          place: fraction(perScene.map((r) => r.zeroShot.ensembledPlace)),
          object: fraction(perScene.map((r) => r.zeroShot.ensembledObject)),
        },
      },
      queries: { requests: client.requests - requestsBefore, seconds: (performance.now() - queryStarted) / 1000 },
    };
  } finally {
    if (!options.keepCollection) await client.call('DELETE', base, undefined, 204).catch((error: unknown) => log(`collection ${collection} not dropped: ${(error as Error).message}`));
  }
}
