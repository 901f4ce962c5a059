import type { JobEvent } from '@a2i/protocol';

/**
 * One event as a Server-Sent Events frame: `event: job:progress`, `id: <seq>`, `data: <JSON>`.
 * JSON has no binary, so a preview's bytes are base64 in `image`.
 */
export function sseFrame(event: JobEvent): string {
  const payload = event.type === 'job:preview' ? { ...event.payload, image: Buffer.from(event.payload.image).toString('base64') } : event.payload;
  return `event: ${event.type}\nid: ${event.payload.seq}\ndata: ${JSON.stringify(payload)}\n\n`;
}
