// A sound's waveform on a canvas: per pixel column the lowest and highest sample (pure
// `columnPeaks`), drawn as bars, the part outside the trim dimmed.

/** `[min, max]` of each of `columns` equal stretches of `samples`. */
export function columnPeaks(samples, columns) {
  const peaks = [];
  const per = samples.length / columns;
  for (let c = 0; c < columns; c++) {
    let min = 0;
    let max = 0;
    for (let i = Math.floor(c * per); i < Math.min(samples.length, Math.floor((c + 1) * per)); i++) {
      if (samples[i] < min) min = samples[i];
      if (samples[i] > max) max = samples[i];
    }
    peaks.push([min, max]);
  }
  return peaks;
}

/** Draws `peaks` on `canvas`; columns outside [from, to) (fractions 0..1) dimmed. */
export function drawWaveform(canvas, peaks, from = 0, to = 1) {
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  const accent = getComputedStyle(canvas).getPropertyValue('--accent').trim() || '#5b5bd6';
  context.clearRect(0, 0, width, height);
  const scale = peaks.reduce((top, [min, max]) => Math.max(top, -min, max), 0.01);
  peaks.forEach(([min, max], x) => {
    const inside = x / peaks.length >= from && x / peaks.length < to;
    context.fillStyle = inside ? accent : '#c9cbe0';
    const top = height / 2 - (max / scale) * (height / 2 - 1);
    const bottom = height / 2 - (min / scale) * (height / 2 - 1);
    context.fillRect(x, top, 1, Math.max(1, bottom - top));
  });
}
