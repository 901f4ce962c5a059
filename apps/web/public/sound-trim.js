import { elements } from './page-elements.js';
import { columnPeaks, drawWaveform } from './waveform.js';
import { trimmedWavFile } from './wav-encoding.js';
// The chosen (or recorded) sound's waveform with a trim: Start and End sliders in seconds. A
// trimmed sound goes to the server as a WAV of the kept stretch.

const fmt = (seconds) => `${seconds.toFixed(2)} s`;

export class SoundTrim {
  constructor() {
    Object.assign(this, elements({ block: '#sound-trim', canvas: '#waveform', start: '#trim-start', end: '#trim-end', startOut: '#trim-start-value', endOut: '#trim-end-value' }));
    this.buffer = null;
    const changed = (which) => {
      // the two ends never cross: at least 0.1 s stays
      const gap = 0.1;
      if (which === 'start' && Number(this.start.value) > Number(this.end.value) - gap) this.start.value = String(Math.max(0, Number(this.end.value) - gap));
      if (which === 'end' && Number(this.end.value) < Number(this.start.value) + gap) this.end.value = String(Math.min(this.duration, Number(this.start.value) + gap));
      this.render();
    };
    this.start.addEventListener('input', () => changed('start'));
    this.end.addEventListener('input', () => changed('end'));
  }

  get duration() {
    return this.buffer ? this.buffer.duration : 0;
  }

  /** Shows `buffer` (an AudioBuffer), untrimmed; null hides the block. */
  show(buffer) {
    this.buffer = buffer;
    this.block.hidden = !buffer;
    if (!buffer) return;
    for (const range of [this.start, this.end]) {
      range.max = String(buffer.duration);
      range.step = '0.01';
    }
    this.start.value = '0';
    this.end.value = String(buffer.duration);
    this.canvas.width = Math.max(100, Math.round(this.canvas.clientWidth || 300));
    this.peaks = columnPeaks(buffer.getChannelData(0), this.canvas.width);
    this.render();
  }

  render() {
    const from = Number(this.start.value);
    const to = Number(this.end.value);
    this.startOut.textContent = fmt(from);
    this.endOut.textContent = fmt(to);
    this.start.style.setProperty('--fill', `${(100 * from) / this.duration}%`);
    this.end.style.setProperty('--fill', `${(100 * to) / this.duration}%`);
    drawWaveform(this.canvas, this.peaks, from / this.duration, to / this.duration);
    this.block.dataset.trimmed = String(this.isTrimmed);
  }

  /** Whether less than the whole sound is kept. */
  get isTrimmed() {
    return Boolean(this.buffer) && (Number(this.start.value) > 0.005 || Number(this.end.value) < this.duration - 0.005);
  }

  /** The kept stretch as a WAV File named after `name`. */
  trimmedFile(name) {
    return trimmedWavFile(this.buffer, Number(this.start.value), Number(this.end.value), `${name.replace(/\.[^.]*$/, '')}-trimmed.wav`);
  }
}
