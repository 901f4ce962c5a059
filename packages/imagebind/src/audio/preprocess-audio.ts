// ImageBind's audio transform, data.py load_and_transform_audio_data (facebookresearch/ImageBind),
// with every constant taken from the manifest's `encoders.audio.preprocess`:
//
//   1. resample every channel to preprocess.sampleRate (torchaudio.functional.resample)
//   2. clips: ConstantClipsPerVideoSampler over duration = samples / sampleRate
//   3. per clip (waveform2melspec):
//      a. waveform -= waveform.mean()   (subtractMean) -- the mean over ALL channels of the
//         clip, subtracted IN PLACE: data.py's clip is a view of the whole waveform, so a
//         later clip that overlaps an earlier one sees the earlier subtraction. Clips overlap
//         in any sound shorter than (clipsPerInput + 1) * clipDuration (8 s for 3 clips of
//         2 s), and the effect is not small (up to ~0.5 after normalisation on a signal with
//         a DC offset, ~0.02 on ImageBind's own sample recordings), so it is reproduced here.
//      b. kaldi fbank of channel `preprocess.channel`
//      c. transpose to [mel, frames], zero-pad at the end or crop to targetLength
//   4. (x - mean) / std (transforms.Normalize), the zero padding included
//
// What is computed here is the same tensor with less work: only channel `channel` is
// resampled, and only inside the clips (nothing else is read). The clip means need the other
// channels' resampled sums over each clip, nothing more: `resampledRangeSums` gets those at
// about a tenth of the cost of resampling, and the earlier clips' subtractions are taken off
// analytically.
import { AudioError } from './audio-error.js';
import { audioClipSampleRanges } from './clip-sampling.js';
import { kaldiFbankFor } from './kaldi-fbank.js';
import { parseAudioPreprocess, type AudioPreprocess } from './options.js';
import { resampledLength, resampledRangeSums, resampleSincRanges } from './resample.js';

const f32 = Math.fround;

/** Decoded audio as @a2i/media's decodeAudio returns it. */
export interface Pcm {
  sampleRate: number;
  /** One Float32Array per channel, all the same length. */
  channels: Float32Array[];
}

/** Output of `preprocessAudio` with its shape spelled out. */
export interface PreprocessedAudio {
  data: Float32Array; // [clips, 1, numMelBins, targetLength]
  shape: [number, 1, number, number];
}

function checkPcm(pcm: unknown, channel: number): Pcm {
  if (typeof pcm !== 'object' || pcm === null) throw new AudioError('AUDIO_INVALID_PCM', `Expected decoded audio { sampleRate, channels } but received ${String(pcm)}`);
  const { sampleRate, channels } = pcm as Partial<Pcm>;
  if (typeof sampleRate !== 'number' || !Number.isSafeInteger(sampleRate) || sampleRate <= 0) {
    throw new AudioError('AUDIO_INVALID_PCM', `Expected an integer sample rate > 0 (Hz) for pcm.sampleRate but received ${String(sampleRate)}`);
  }
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => c instanceof Float32Array)) {
    throw new AudioError('AUDIO_INVALID_PCM', 'Expected a non-empty array of Float32Array for pcm.channels');
  }
  const length = channels[0]!.length;
  if (channels.some((c) => c.length !== length)) {
    throw new AudioError('AUDIO_INVALID_PCM', `Expected channels of equal length for pcm.channels but received lengths ${channels.map((c) => c.length).join(', ')}`);
  }
  if (channel >= channels.length) {
    throw new AudioError('AUDIO_INVALID_PCM', `Expected a channel ${channel} in the audio but it has ${channels.length} channel(s)`);
  }
  return { sampleRate, channels };
}

/**
 * ImageBind's audio transform on decoded PCM.
 * @param pcm { sampleRate, channels: float32 [n] per channel }
 * @param preprocess the manifest's encoders.audio.preprocess (validated here)
 * @returns float32 [clipsPerInput, 1, numMelBins, targetLength], one encoder row per clip
 */
export function preprocessAudio(pcm: Pcm, preprocess: AudioPreprocess): Float32Array {
  return preprocessAudioWithShape(pcm, preprocess).data;
}

/** `preprocessAudio` that also returns the shape. */
export function preprocessAudioWithShape(pcm: Pcm, preprocess: AudioPreprocess): PreprocessedAudio {
  const p = parseAudioPreprocess(preprocess);
  const { sampleRate, channels } = checkPcm(pcm, p.channel);
  const rate = p.sampleRate;
  const fbank = kaldiFbankFor(rate, p.fbank);

  // 1. clips over the resampled length, 2. the fbank channel resampled inside them only (a
  // fresh array: ours to change in place; samples outside the clips are never read)
  const samples = resampledLength(channels[0]!.length, sampleRate, rate);
  const ranges = audioClipSampleRanges(samples, rate, p.clipDuration, p.clipsPerInput);
  const wave = resampleSincRanges(channels[p.channel]!, sampleRate, rate, p.resample, ranges); // [samples]
  // With several channels: each clip's sum over all of them, before any subtraction (with one,
  // the sums come from `wave` as it is changed).
  const channelCount = channels.length;
  let channelSums: number[] | null = null;
  if (p.subtractMean && channelCount > 1) {
    // this channel's from `wave` (exact inside the clips), the others' from resampledRangeSums
    channelSums = ranges.map(({ start, end }) => {
      let sum = 0;
      for (let i = start; i < end; i++) sum += wave[i]!;
      return sum;
    });
    channels.forEach((x, c) => {
      if (c === p.channel) return;
      resampledRangeSums(x, sampleRate, rate, p.resample, ranges).forEach((sum, k) => (channelSums![k]! += sum));
    });
  }
  const means: number[] = []; // what each clip subtracted, for the later overlapping ones

  const bins = p.fbank.numMelBins;
  const target = p.targetLength;
  const { mean, std } = p.normalize;
  const out = new Float32Array(ranges.length * bins * target);
  const padValue = f32(f32(0 - mean) / std); // the zero padding, normalised
  ranges.forEach(({ start, end }, clip) => {
    const length = end - start;
    if (length < fbank.windowSize) {
      throw new AudioError(
        'AUDIO_TOO_SHORT',
        `Expected at least ${fbank.windowSize} samples at ${rate} Hz (${p.fbank.frameLengthMs} ms) in clip ${clip} but received ${length}`,
      );
    }
    // 3a. subtract the clip's mean over all channels, in place (see the header)
    if (p.subtractMean) {
      let sum = 0;
      if (channelSums) {
        sum = channelSums[clip]!;
        // every channel of an earlier overlapping clip lost that clip's mean
        for (let k = 0; k < clip; k++) {
          const overlap = Math.min(end, ranges[k]!.end) - Math.max(start, ranges[k]!.start);
          if (overlap > 0) sum -= channelCount * overlap * means[k]!;
        }
      } else {
        for (let i = start; i < end; i++) sum += wave[i]!;
      }
      const m = f32(sum / (length * channelCount)); // a float32 scalar, as torch's mean()
      means.push(m);
      for (let i = start; i < end; i++) wave[i] = wave[i]! - m;
    }
    // 3b. fbank [frames, bins]
    const { data, frames } = fbank.compute(wave.subarray(start, end));
    // 3c + 4. transpose to [bins, target], pad / crop at the end, normalise
    const kept = Math.min(frames, target);
    const base = clip * bins * target;
    for (let b = 0; b < bins; b++) {
      const row = base + b * target;
      for (let t = 0; t < kept; t++) out[row + t] = f32(f32(data[t * bins + b]! - mean) / std);
      out.fill(padValue, row + kept, row + target);
    }
  });
  // NaN or infinite samples inside a clip reach its features (through the clip mean, or the
  // frames that hold them): one look at the output finds them. Samples that no output
  // depends on do not matter, as in ImageBind.
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) {
      const clip = Math.floor(i / (bins * target));
      throw new AudioError('NON_FINITE_VALUE', `Expected finite samples but clip ${clip} (samples ${ranges[clip]!.start}-${ranges[clip]!.end} at ${rate} Hz) has NaN or infinite ones`);
    }
  }
  return { data: out, shape: [ranges.length, 1, bins, target] };
}

