import { elements } from './page-elements.js';
import { weightSlider } from './weight-slider.js';
// The other file modalities a pack may take besides sound and image: video, depth, thermal and
// motion (IMU). One row per modality the pack offers (GET /v1/pack `modalities`), each with a
// file chooser, Remove and a weight slider; none offered: the section stays hidden.

const EXTRA_MODALITIES = [
  { modality: 'video', label: 'Video', accept: 'video/*', hint: 'its frames (its sound: choose it as the sound)' },
  { modality: 'depth', label: 'Depth map', accept: 'image/*', hint: 'a greyscale image, near = bright' },
  { modality: 'thermal', label: 'Thermal image', accept: 'image/*', hint: 'a greyscale heat image' },
  { modality: 'imu', label: 'Motion (IMU)', accept: '.csv,.npy,text/csv', hint: 'accelerometer + gyroscope samples, CSV' },
];

function row({ modality, label, accept, hint }) {
  const section = document.createElement('section');
  section.className = 'input-block';
  section.dataset.extraModality = modality;
  const line = document.createElement('div');
  line.className = 'row';
  const input = Object.assign(document.createElement('input'), { type: 'file', id: `${modality}-file`, name: `${modality}File`, accept, className: 'visually-hidden' });
  const choose = Object.assign(document.createElement('label'), { className: 'file-button', htmlFor: input.id, textContent: `Choose: ${label}` });
  const name = Object.assign(document.createElement('span'), { className: 'file-name', textContent: hint });
  const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'link', textContent: 'Remove', hidden: true });
  remove.setAttribute('aria-label', `Remove the ${label.toLowerCase()}`);
  line.append(choose, input, name, remove);
  const weight = weightSlider({ id: `${modality}Weight`, label: `${label} weight`, value: 0.5 });
  const range = weight.querySelector('input');
  const showFile = () => {
    const file = input.files[0];
    name.textContent = file ? file.name : hint;
    remove.hidden = !file;
  };
  input.addEventListener('change', showFile);
  remove.addEventListener('click', () => {
    input.value = '';
    showFile();
  });
  section.append(line, weight);
  return { modality, section, input, range };
}

export class ExtraInputs {
  constructor() {
    Object.assign(this, elements({ block: '#extra-inputs', list: '#extra-list', summary: '#extra-inputs summary' }));
    this.rows = [];
  }

  /** One row per extra modality the pack offers (once: later packs keep the rows they share). */
  applyPack(pack) {
    const offered = EXTRA_MODALITIES.filter((extra) => pack.modalities.includes(extra.modality));
    if (offered.map((extra) => extra.modality).join() === this.rows.map((r) => r.modality).join()) return;
    this.rows = offered.map(row);
    this.list.replaceChildren(...this.rows.map((r) => r.section));
    this.block.hidden = this.rows.length === 0;
    this.summary.textContent = `Add ${offered.map((extra) => extra.label.toLowerCase()).join(', ')}`;
  }

  /** `{ modality, file, weight, field }` for every row with a file. */
  chosen() {
    return this.rows.filter((r) => r.input.files.length > 0).map((r) => ({ modality: r.modality, file: r.input.files[0], weight: Number(r.range.value), field: r.range.name }));
  }
}
