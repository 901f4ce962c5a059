// One weight slider row: its label, a range of 0..2 (the input's weight in the embedding sum)
// and the value shown beside it. The page's own inputs (sound, image, text: placeholders
// `<div data-weight-slider="<id>" data-label="..." data-value="...">` in index.html) and the
// extra modalities' rows (extra-inputs.js) and the stored items' rows (request-form.js) are all made here.
export function weightSlider({ id, label, value, name = id }) {
  const row = document.createElement('div');
  row.className = 'weight';
  const caption = Object.assign(document.createElement('label'), { htmlFor: id, textContent: label });
  const range = Object.assign(document.createElement('input'), { type: 'range', id, name, min: '0', max: '2', step: '0.05', value: String(value) });
  const output = document.createElement('output');
  output.htmlFor = id;
  const show = () => {
    output.textContent = Number(range.value).toFixed(2);
    range.style.setProperty('--fill', `${(100 * (range.value - range.min)) / (range.max - range.min)}%`);
  };
  // 'input' while dragging; 'change' also when a script sets the value and tells (settings reused)
  range.addEventListener('input', show);
  range.addEventListener('change', show);
  show();
  row.append(caption, range, output);
  return row;
}

/** Replaces every `[data-weight-slider]` placeholder under `root` with its slider row. */
export function expandWeightSliders(root) {
  for (const slot of root.querySelectorAll('[data-weight-slider]')) {
    slot.replaceWith(weightSlider({ id: slot.dataset.weightSlider, label: slot.dataset.label, value: slot.dataset.value }));
  }
}
