import { io, type Socket } from 'socket.io-client';
import { sampleSoundWav } from './sample-sound.js';

/**
 * The load of the fault drills (Redis Cluster failover, rolling update, the multi-host run):
 * generations with an uploaded sound, each followed from the moment it is accepted, and the
 * tally every drill reports and asserts (lost: no terminal event; duplicated: more than one).
 */

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['job:succeeded', 'job:failed', 'job:canceled']);

export interface DrillJob {
  id: string;
  token: string;
  /** Event types its follower saw, in order. */
  events: string[];
  /** When it was accepted (202) and when its follower saw it end (ms since the epoch). */
  acceptedAt: number;
  endedAt?: number;
}

const sound = sampleSoundWav({ seconds: 0.5 });

/** POSTs one generation with an uploaded sound (synthetic pipeline: `steps` steps), with an API key if given; resolves with its id and token, or throws with the answer. */
export async function submitGeneration(url: string, seed: number, options: { steps?: number; apiKey?: string } = {}): Promise<{ id: string; token: string }> {
  const body = new FormData();
  body.set('request', JSON.stringify({ inputs: [{ modality: 'audio', file: 'sound', weight: 1 }], steps: options.steps ?? 20, prior: 'off', previewEvery: 0, seed }));
  body.set('sound', new Blob([sound]), 'sound.wav');
  // a new connection each (no keep-alive: a balancer in front picks an instance per request)
  const headers: Record<string, string> = { connection: 'close', ...(options.apiKey !== undefined ? { 'x-api-key': options.apiKey } : {}) };
  const response = await fetch(`${url}/v1/generations`, { method: 'POST', body, headers });
  if (response.status !== 202) throw new Error(`Expected 202 for POST /v1/generations but received ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: string; token: string };
}

/** Follows a job over socket.io (the handshake names it; events recorded as they come). */
export function followOverSocket(url: string, job: DrillJob, options: { reconnection?: boolean } = {}): Socket {
  const socket = io(url, { auth: { jobId: job.id, token: job.token }, transports: ['websocket'], reconnection: options.reconnection ?? false, forceNew: true });
  socket.onAny((type: string) => {
    job.events.push(type);
    if (TERMINAL_EVENTS.has(type) && job.endedAt === undefined) job.endedAt = Date.now();
  });
  return socket;
}

export interface DrillTally {
  jobs: number;
  /** Ended without its follower seeing a terminal event. */
  lost: number;
  /** More than one terminal event seen. */
  duplicated: number;
  /** Exactly one terminal event, job:succeeded. */
  succeededOnce: number;
}

export function tally(jobs: readonly DrillJob[]): DrillTally {
  const terminal = jobs.map((job) => job.events.filter((type) => TERMINAL_EVENTS.has(type)));
  return {
    jobs: jobs.length,
    lost: terminal.filter((seen) => seen.length === 0).length,
    duplicated: terminal.filter((seen) => seen.length > 1).length,
    succeededOnce: terminal.filter((seen) => seen.length === 1 && seen[0] === 'job:succeeded').length,
  };
}

/** Whether every job's follower has seen it end. */
export const allEnded = (jobs: readonly DrillJob[]) => jobs.every((job) => job.events.some((type) => TERMINAL_EVENTS.has(type)));
