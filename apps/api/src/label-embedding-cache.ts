/**
 * Text label embeddings for zero-shot classification, kept in the api so that a label is
 * embedded by a worker once per pack: a least-recently-used map of at most `capacity`
 * entries keyed by pack name, dim and label (a Map keeps insertion order; a hit moves its
 * entry to the end, an insert past capacity evicts the first). Capacity 0 keeps nothing.
 */
export class LabelEmbeddingCache {
  private readonly entries = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`Expected an integer >= 0 for capacity but received ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(pack: { name: string; dim: number }, label: string): Float32Array | undefined {
    const key = cacheKey(pack, label);
    const vector = this.entries.get(key);
    if (vector === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, vector);
    return vector;
  }

  set(pack: { name: string; dim: number }, label: string, vector: Float32Array): void {
    if (this.capacity === 0) return;
    const key = cacheKey(pack, label);
    this.entries.delete(key);
    this.entries.set(key, vector);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /**
   * Every label's vector: the cached ones from here, every missing one embedded in ONE call of
   * `embedTexts` (one embedding job) and cached. Duplicates are embedded once.
   */
  async vectorsFor(pack: { name: string; dim: number }, labels: readonly string[], embedTexts: (texts: string[]) => Promise<ArrayLike<number>[]>): Promise<Map<string, Float32Array>> {
    const vectors = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const label of new Set(labels)) {
      const cached = this.get(pack, label);
      if (cached) vectors.set(label, cached);
      else missing.push(label);
    }
    if (missing.length > 0) {
      const embedded = await embedTexts(missing);
      missing.forEach((label, i) => {
        const vector = Float32Array.from(embedded[i]!);
        vectors.set(label, vector);
        this.set(pack, label, vector);
      });
    }
    return vectors;
  }
}

function cacheKey(pack: { name: string; dim: number }, label: string): string {
  return `${pack.name}\u0000${pack.dim}\u0000${label}`;
}
