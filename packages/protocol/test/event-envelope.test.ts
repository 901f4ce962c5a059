import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEventBody } from '../src/index.js';

const withSeq = (seq: number, body: Buffer) => Buffer.concat([Buffer.from(`${seq}\n`), body]);

describe('event envelope', () => {
  it('round-trips a preview with its binary image intact (no base64 on Redis)', () => {
    const image = new Uint8Array([0, 10, 255, 0x0a, 0x0a, 7]); // newlines inside the binary must not matter
    const body = encodeEventBody({
      type: 'job:preview',
      payload: { id: 'abc', at: 5, stage: 'decode', step: 3, index: 0, width: 2, height: 1, mime: 'image/webp', image },
      ephemeral: true,
    });
    const decoded = decodeEnvelope(withSeq(42, body));
    expect(decoded.seq).toBe(42);
    expect(decoded.ephemeral).toBe(true);
    expect(decoded.event.type).toBe('job:preview');
    expect(decoded.event.payload).toMatchObject({ id: 'abc', seq: 42, step: 3 });
    expect(Array.from((decoded.event.payload as { image: Uint8Array }).image)).toEqual(Array.from(image));
  });

  it('round-trips a state event and validates it', () => {
    const body = encodeEventBody({ type: 'job:failed', payload: { id: 'x', at: 1, code: 'AUDIO_TOO_LONG', message: 'too long' }, ephemeral: false });
    expect(decodeEnvelope(withSeq(3, body))).toEqual({
      seq: 3,
      ephemeral: false,
      event: { type: 'job:failed', payload: { id: 'x', at: 1, seq: 3, code: 'AUDIO_TOO_LONG', message: 'too long' } },
    });
  });

  it('refuses malformed messages', () => {
    expect(() => decodeEnvelope(Buffer.from('no newline'))).toThrow(/header/);
    expect(() => decodeEnvelope(Buffer.from('x\n{}\n'))).toThrow(/sequence/);
    expect(() => decodeEnvelope(Buffer.from('1\n{"t":"job:exploded","p":{}}\n'))).toThrow(/event type/);
    // A progress event missing its step fails validation.
    expect(() => decodeEnvelope(Buffer.from('1\n{"t":"job:progress","e":0,"p":{"id":"a","at":1,"stage":"decode","steps":3}}\n'))).toThrow();
  });
});
