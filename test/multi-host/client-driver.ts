import { parseArgs } from 'node:util';
import type { Socket } from 'socket.io-client';
import { allEnded, followOverSocket, submitGeneration, tally, type DrillJob } from '../support/job-drill.js';
import { waitForReadyServer } from '../support/server-ready.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The multi-host run's client host (multi-host.ts runs it inside the client's network
 * namespace): it knows only the api's address. It waits for the api to be ready with two
 * workers, submits the generations, follows each over socket.io, then fetches every image
 * through the api. One JSON line per thing that happened on stdout, for the orchestrator:
 *   {"event":"ready"} {"event":"accepted","id"} {"event":"ended","id","type","at"}
 *   {"event":"summary", ...} (last line; exit 0 once it is written, whatever it says)
 */
const { values } = parseArgs({ options: { api: { type: 'string' }, jobs: { type: 'string', default: '24' }, steps: { type: 'string', default: '40' } } });
const api = values.api!;
const count = Number(values.jobs);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

await waitForReadyServer(api, { workers: 2, timeoutMs: 300_000 });
say({ event: 'ready' });
const jobs: DrillJob[] = [];
const sockets: Socket[] = [];
for (let i = 0; i < count; i++) {
  const job: DrillJob = { ...(await submitGeneration(api, i + 1, { steps: Number(values.steps) })), events: [], acceptedAt: Date.now() };
  jobs.push(job);
  say({ event: 'accepted', id: job.id });
  const socket = followOverSocket(api, job);
  socket.on('job:succeeded', () => say({ event: 'ended', id: job.id, type: 'job:succeeded', at: Date.now() }));
  socket.on('job:failed', (payload: { code?: string }) => say({ event: 'ended', id: job.id, type: 'job:failed', code: payload.code, at: Date.now() }));
  socket.on('job:canceled', () => say({ event: 'ended', id: job.id, type: 'job:canceled', at: Date.now() }));
  sockets.push(socket);
}
await waitFor(() => allEnded(jobs), 'every job to end', 120_000).catch(() => undefined);
await new Promise((resolve) => setTimeout(resolve, 1000)); // a late duplicate would arrive here
for (const socket of sockets) socket.disconnect();

// Every image, through the api (which reads it from the storage host).
let imagesOk = 0;
const imageFailures: string[] = [];
for (const job of jobs) {
  try {
    const status = (await (await fetch(`${api}/v1/generations/${job.id}`, { headers: { 'x-job-token': job.token } })).json()) as { status: string; images?: Array<{ url: string }> };
    const url = status.images?.[0]?.url;
    if (status.status !== 'succeeded' || url === undefined) throw new Error(`status ${status.status}, no image`);
    const image = await fetch(new URL(url, api), { headers: { 'x-job-token': job.token } });
    const bytes = new Uint8Array(await image.arrayBuffer());
    const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    if (image.status !== 200 || !png) throw new Error(`image answered ${image.status}, ${bytes.length} bytes, PNG ${png}`);
    imagesOk += 1;
  } catch (error) {
    imageFailures.push(`${job.id}: ${(error as Error).message}`);
  }
}
say({ event: 'summary', ...tally(jobs), imagesOk, imageFailures, hanging: jobs.filter((job) => job.endedAt === undefined).map((job) => `${job.id}: ${job.events.join(' ')}`) });
process.exit(0);
