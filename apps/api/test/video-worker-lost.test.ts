import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { VIDEO_PART_JOB_NAME, redisLayout } from '@a2i/protocol';
import { steppedToneWav } from '../../../test/support/video-checks.js';
import { json, multipart, readSse, REDIS_URL, useApiWithWorkerProcesses, waitFor } from './harness.js';

// A video's parts are jobs of their own (issue #19): a worker killed (SIGKILL) while it makes a
// part's frames costs that part only. Its lock runs out (2 s), the survivor's stalled checker
// puts the part back in the queue, the survivor makes it again, and the video succeeds with
// every frame counted once.
describe('a worker killed while it makes a part of a video', () => {
  const run = useApiWithWorkerProcesses();
  // 10 synthetic steps of 30 ms: 0.3 s a frame, 1.2 s a part of 4
  const env = { A2I_SYNTHETIC_STEP_MS: '30', A2I_VIDEO_FRAMES_PER_PART: '4' };

  it('loses only that part: the survivor makes it again and the video succeeds once, every frame counted once', async () => {
    const victim = run.spawnWorker('victim', 'synthetic', env);
    run.spawnWorker('survivor', 'synthetic', env);
    await waitFor(async () => {
      const ready = await fetch(`${run.url}/readyz`);
      return ready.status === 200 && (await json(ready)).workers === 2 ? true : undefined;
    }, 'two workers ready', 60_000);

    const sound = steppedToneWav([{ seconds: 2, amplitude: 0.2 }, { seconds: 2, amplitude: 0.5 }]);
    const response = await fetch(`${run.url}/v1/generations`, {
      method: 'POST',
      body: multipart({ inputs: [{ modality: 'audio', file: 'sound' }], steps: 10, seed: 9, output: { type: 'video', fps: 4, frames: true } }, { sound: { bytes: sound, type: 'audio/wav' } }),
    });
    expect(response.status).toBe(202);
    const { id, token } = await json(response);
    const following = readSse(`${run.url}/v1/generations/${id}/events?token=${token}`);

    const layout = redisLayout(run.config.redis.prefix);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(layout.generationQueue, { connection, prefix: layout.prefix });
    try {
      // the victim holds a part that has made at least one of its frames
      const held = await waitFor(async () => {
        for (const job of await queue.getActive()) {
          if (job.name !== VIDEO_PART_JOB_NAME || job.processedBy !== 'victim') continue;
          const status = await json(await fetch(`${run.url}/v1/generations/${id}?token=${token}`));
          if (status.progress?.stage === 'frames' && status.progress.step >= 1) return job.id!;
        }
        return undefined;
      }, 'the victim mid-part', 30_000);
      await victim.stop('SIGKILL');

      const events = await following;
      expect(events.at(-1)!.type).toBe('job:succeeded');
      const end = events.at(-1)!.payload;
      expect(end.video).toMatchObject({ frames: 16, audio: true });
      expect((end.images as unknown[]).length).toBe(16);
      // progress counts each frame once although the lost part made some of its frames twice
      const counts = events.filter((e) => e.type === 'job:progress' && e.payload.stage === 'frames').map((e) => e.payload.step as number);
      expect(counts.at(-1)).toBe(16);
      expect([...counts].sort((a, b) => a - b)).toEqual(counts);
      expect(new Set(counts).size).toBe(counts.length);
      // one success only
      expect(events.filter((e) => e.type === 'job:succeeded')).toHaveLength(1);

      const part = await queue.getJob(held);
      expect(part?.processedBy).toBe('survivor');
      expect(part?.attemptsStarted).toBeGreaterThanOrEqual(2);
      expect(await part?.getState()).toBe('completed');
      const frame = await fetch(`${run.url}/v1/generations/${id}/images/15?token=${token}`);
      expect(frame.status).toBe(200);
    } finally {
      await queue.close();
      await connection.quit();
    }
  }, 90_000);
});
