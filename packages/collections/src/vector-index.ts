import * as lancedb from '@lancedb/lancedb';
import type { Table } from '@lancedb/lancedb';
import type { ResolvedStoreOptions } from './store-options.js';

const VECTOR_INDEX_NAME = 'vector_idx';

/** Builds (or replaces) a collection table's ANN index on its vector column, cosine distance. */
export async function buildVectorIndex(table: Table, rows: number, dim: number, ann: ResolvedStoreOptions['ann']): Promise<{ numPartitions: number; numSubVectors?: number }> {
  // IVF: ceil(rows / rowsPerPartition) partitions, trained by k-means on cosine distance.
  // Then either quantiser; queries re-rank k * refineFactor candidates with the full
  // vectors, so returned scores are exact cosines whatever the quantiser.
  // - ivf_rq (default): RaBitQ, 1 bit per dimension after a random rotation. Measured at
  //   100k x 1024 (test/bench/ann-sweep.ts, random unit vectors + planted groups): built in
  //   2 s (IVF_PQ with dim/16 sub-vectors: 153-234 s); all 25 partitions probed, refine 100:
  //   p50 23 ms, recall@10 1.00 planted / 0.89 random (PQ: 0.59; IVF_HNSW_SQ, ef 600: 0.43).
  // - ivf_pq: ann.dimsPerSubVector dims per 8-bit code, 8 for dim <= 256, else 16 (at
  //   100k x 1024, dim/8 had not finished training after 8 minutes on 2 loaded cores).
  const numPartitions = Math.max(1, Math.ceil(rows / ann.rowsPerPartition));
  if (ann.indexType === 'ivf_rq') {
    await table.createIndex('vector', { config: lancedb.Index.ivfRq({ distanceType: 'cosine', numPartitions }), replace: true, name: VECTOR_INDEX_NAME });
    return { numPartitions };
  }
  const perCode = ann.dimsPerSubVector ?? (dim <= 256 ? 8 : 16);
  const numSubVectors = dim % perCode === 0 ? dim / perCode : dim % 8 === 0 ? dim / 8 : 1;
  await table.createIndex('vector', {
    config: lancedb.Index.ivfPq({ distanceType: 'cosine', numPartitions, numSubVectors }),
    replace: true,
    name: VECTOR_INDEX_NAME,
  });
  return { numPartitions, numSubVectors };
}
