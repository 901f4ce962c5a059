import { readMpegFrameHeader } from './mp3-header.js';

/**
 * Walks an MPEG audio stream frame by frame (each header gives its frame's length; ISO/IEC
 * 11172-3 2.4.2.3) without decoding anything: how many frames there are, and whether the file
 * ends inside one (a cut file). Only headers of the first frame's kind (version, layer, sample
 * rate) count, so trailing tags (ID3v1 "TAG", APEv2, Lyrics3) and junk end the walk instead of
 * being taken for a frame. After bytes that are not a frame, the walk resyncs on two
 * consecutive frames within RESYNC_BYTES, else stops there.
 */
export interface Mp3FrameWalk {
  /** Frames walked, the Xing/Info/VBRI frame included. */
  frames: number;
  /** Samples per channel in those frames (before any encoder delay / padding is removed). */
  samples: number;
  /** The last frame's header says it runs past the end of the file. */
  endsInsideFrame: boolean;
}

const RESYNC_BYTES = 4096;

export function walkMp3Frames(bytes: Uint8Array, firstFrame: number): Mp3FrameWalk {
  const first = readMpegFrameHeader(bytes, firstFrame);
  const walk: Mp3FrameWalk = { frames: 0, samples: 0, endsInsideFrame: false };
  if (!first) return walk;
  const sameKind = (offset: number) => {
    const h = readMpegFrameHeader(bytes, offset);
    return h && h.version === first.version && h.layer === first.layer && h.sampleRate === first.sampleRate ? h : undefined;
  };
  let offset = firstFrame;
  while (offset < bytes.length) {
    let header = sameKind(offset);
    if (!header) {
      const resynced = resync(bytes, offset, sameKind);
      if (resynced === undefined) break;
      offset = resynced;
      header = sameKind(offset)!;
    }
    if (offset + header.frameLength > bytes.length) {
      walk.endsInsideFrame = true;
      break;
    }
    walk.frames++;
    walk.samples += header.samplesPerFrame;
    offset += header.frameLength;
  }
  return walk;
}

function resync(bytes: Uint8Array, from: number, sameKind: (offset: number) => { frameLength: number } | undefined): number | undefined {
  const end = Math.min(bytes.length, from + RESYNC_BYTES);
  for (let at = from + 1; at < end; at++) {
    if (bytes[at] !== 0xff) continue;
    const header = sameKind(at);
    if (header && sameKind(at + header.frameLength)) return at;
  }
  return undefined;
}
