import { Pcm16Resampler } from './pcm-16k.js';
// The sound a live stream sends: the microphone (getUserMedia), or a file as it plays in an
// <audio> element, tapped by an AudioWorklet (live-capture-worklet.js) and sent every
// `chunkMs` as 16 kHz 16-bit mono (pcm-16k.js) to `onChunk(Int16Array)`.

export class LiveCapture {
  constructor({ onChunk, chunkMs = 250 }) {
    this.onChunk = onChunk;
    this.chunkMs = chunkMs;
    this.context = null;
    this.stream = null;
  }

  /** The microphone; rejects when there is none or it is refused. */
  async fromMicrophone() {
    const context = await this.open();
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    context.createMediaStreamSource(this.stream).connect(this.tap);
    // the tap must reach the output to run; the microphone is not played back
    this.tap.connect(this.silence(context));
  }

  /** A playing <audio> element (heard, and sent). */
  async fromElement(element) {
    const context = await this.open();
    this.source ??= context.createMediaElementSource(element);
    this.source.connect(this.tap);
    this.tap.connect(context.destination);
  }

  async open() {
    await this.close();
    const context = new AudioContext();
    this.context = context;
    await context.audioWorklet.addModule('/live-capture-worklet.js');
    this.tap = new AudioWorkletNode(context, 'pcm-tap');
    let pending = [];
    let pendingSamples = 0;
    const resampler = new Pcm16Resampler(context.sampleRate);
    const perChunk = Math.round((context.sampleRate * this.chunkMs) / 1000);
    this.tap.port.onmessage = ({ data }) => {
      pending.push(data);
      pendingSamples += data.length;
      if (pendingSamples < perChunk) return;
      const block = new Float32Array(pendingSamples);
      let offset = 0;
      for (const part of pending) {
        block.set(part, offset);
        offset += part.length;
      }
      pending = [];
      pendingSamples = 0;
      const pcm = resampler.push(block);
      if (pcm.length > 0) this.onChunk(pcm);
    };
    return context;
  }

  silence(context) {
    const gain = context.createGain();
    gain.gain.value = 0;
    gain.connect(context.destination);
    return gain;
  }

  async close() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.source = null;
    const context = this.context;
    this.context = null;
    if (context) await context.close().catch(() => undefined);
  }
}
