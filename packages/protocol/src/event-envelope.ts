import { isJobEventType, parseJobEvent, type JobEvent, type JobEventType } from './job-events.js';

/**
 * How a job event travels over Redis (sharded) pub/sub, on the job's own channel
 * (RedisLayout.jobEventsChannel), binary-safe so previews need no base64:
 *
 *   <seq as decimal> "\n" <header JSON> "\n" <binary payload (preview image) or nothing>
 *
 * header = { "t": event type, "e": 1 when ephemeral (preview, position refresh), "p": payload
 * without seq and without the binary field }. The sequence number is written by the Redis
 * script that publishes (JobStateStore), so `encodeEventBody` leaves it out.
 */

const NEWLINE = 0x0a;

export interface EnvelopeEvent {
  type: JobEventType;
  /** Payload without `seq`; for job:preview the `image` bytes go in the binary tail. */
  payload: Record<string, unknown>;
  ephemeral: boolean;
}

export function encodeEventBody(event: EnvelopeEvent): Buffer {
  const { image, ...rest } = event.payload as { image?: Uint8Array };
  const header = JSON.stringify({ t: event.type, e: event.ephemeral ? 1 : 0, p: rest });
  const tail = image instanceof Uint8Array ? Buffer.from(image.buffer, image.byteOffset, image.byteLength) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from(header, 'utf8'), Buffer.from([NEWLINE]), tail]);
}

export interface DecodedEnvelope {
  seq: number;
  ephemeral: boolean;
  event: JobEvent;
}

/** Parses and validates a message from a job's events channel; throws on anything malformed. */
export function decodeEnvelope(message: Buffer): DecodedEnvelope {
  const firstBreak = message.indexOf(NEWLINE);
  const secondBreak = firstBreak < 0 ? -1 : message.indexOf(NEWLINE, firstBreak + 1);
  if (secondBreak < 0) throw new TypeError('Expected "<seq>\\n<header>\\n<payload>" for an event envelope but received no header');
  const seq = Number(message.subarray(0, firstBreak).toString('latin1'));
  if (!Number.isSafeInteger(seq) || seq < 0) throw new TypeError(`Expected a sequence number for an event envelope but received ${message.subarray(0, firstBreak).toString('latin1')}`);
  const header = JSON.parse(message.subarray(firstBreak + 1, secondBreak).toString('utf8')) as { t?: unknown; e?: unknown; p?: unknown };
  if (!isJobEventType(header.t)) throw new TypeError(`Expected a job event type but received ${String(header.t)}`);
  const payload: Record<string, unknown> = { ...(header.p as Record<string, unknown>), seq };
  if (header.t === 'job:preview') payload.image = new Uint8Array(message.subarray(secondBreak + 1));
  return { seq, ephemeral: header.e === 1, event: parseJobEvent(header.t, payload) };
}
