import { writeFile } from 'node:fs/promises';
import type { RedisClient } from '@a2i/protocol';
import type { Modality, PackDescription, RedisLayout } from '@a2i/protocol';

/** What the worker publishes with its pack description: its warm-up's time (null: it ran none). */
export interface Readiness {
  warmUpMs: number | null;
}

/**
 * Tells the api this worker is alive with its pipeline loaded (and warmed up): every
 * `intervalMs` it sets `<prefix>:workers[name] = now` and (re)writes the pack description
 * the api validates requests against, with `warmUpMs` beside it (apps/api pack-source.ts).
 * The api counts a worker as alive for 3 intervals.
 */
export function startHeartbeat(
  redis: RedisClient,
  layout: RedisLayout,
  name: string,
  description: PackDescription,
  intervalMs: number,
  readiness: Readiness = { warmUpMs: null },
  /** A2I_HEARTBEAT_FILE: touched after each beat Redis took, for a container's health check (its age says the worker is alive and reaches Redis). */
  file?: string,
) {
  const published = JSON.stringify({ ...description, warmUpMs: readiness.warmUpMs });
  const beat = async () => {
    await redis.multi().set(layout.packKey, published).zadd(layout.workersKey, Date.now(), name).exec();
    if (file !== undefined) await writeFile(file, `${Date.now()}\n`);
  };
  const timer = setInterval(() => void beat().catch(() => undefined), intervalMs);
  timer.unref();
  return {
    first: beat(),
    async stop(): Promise<void> {
      clearInterval(timer);
      await redis.zrem(layout.workersKey, name);
    },
  };
}

/**
 * The description as this worker serves it: only the modalities A2I_MODALITIES names (and
 * `embedding`), whatever the pipeline, so the api refuses the others at POST
 * (UNSUPPORTED_MODALITY). The ONNX pipeline has already left the other encoders unopened.
 */
export function servedDescription(description: PackDescription, modalities: readonly Modality[] | null): PackDescription {
  if (modalities === null) return description;
  return { ...description, modalities: description.modalities.filter((m) => m === 'embedding' || modalities.includes(m)) };
}
