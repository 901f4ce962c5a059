import { client } from './api-client.js';
import { wireDropZone } from './drop-zone.js';
import { itemPicture } from './item-picture.js';
import { decodeSound } from './audio-check.js';
import { MicRecorder } from './mic-recorder.js';
import { SoundTrim } from './sound-trim.js';
import { trimmedWavFile } from './wav-encoding.js';
import { ExtraInputs } from './extra-inputs.js';
import { numberProblems, numberRules } from './request-checks.js';
import { expandWeightSliders, weightSlider } from './weight-slider.js';
import { elements } from './page-elements.js';
// The composer form: file pickers, weight sliders, options, and the request it becomes (the
// request + its files by part name, which @a2i/client sends as a multipart body; apps/api/README.md "The request").

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB'];
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${SIZE_UNITS[unit]}`;
}

export class RequestForm {
  constructor(form) {
    this.form = form;
    this.previewUrls = { audio: null, image: null };
    expandWeightSliders(form);
    this.bindAudio();
    this.bindImage();
    this.extras = new ExtraInputs();
    /** Stored items mixed in (Search view): { collection, id, modality, media, weight, vector? }. */
    this.items = [];
  }

  /** Adds a stored item as an input (once per collection + id), with its own weight slider. */
  addItem(item) {
    if (this.items.some((known) => known.collection === item.collection && known.id === item.id)) return;
    this.items.push({ ...item, weight: 1 });
    this.renderItems();
  }

  renderItems() {
    const list = document.querySelector('#item-list');
    document.querySelector('#item-inputs').hidden = this.items.length === 0;
    list.replaceChildren(
      ...this.items.map((item, i) => {
        const li = document.createElement('li');
        li.className = 'item-input';
        li.dataset.id = item.id;
        li.append(itemPicture(item, { className: 'thumb' }));
        const name = document.createElement('span');
        name.className = 'file-name';
        name.textContent = `${item.id} · ${item.collection}`;
        // not a form field (no name): the item's weight is kept on the item
        const weight = weightSlider({ id: `item-weight-${i}`, label: 'Weight', value: item.weight, name: '' });
        weight.querySelector('input').addEventListener('input', (event) => (item.weight = Number(event.target.value)));
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'link';
        remove.textContent = 'Remove';
        remove.setAttribute('aria-label', `Remove ${item.id}`);
        remove.addEventListener('click', () => {
          this.items = this.items.filter((known) => known !== item);
          this.renderItems();
        });
        li.append(name, remove, weight);
        return li;
      }),
    );
  }

  /**
   * The stored vector of every item that has none yet (GET .../items/:id?vector=true): for a
   * server that does not take `item` inputs, they go as `embedding` inputs instead.
   */
  async loadItemVectors() {
    for (const item of this.items) {
      if (item.vector) continue;
      const stored = await client.getItem(item.collection, item.id, { vector: true }).catch((error) => {
        throw new Error(`${item.id}: ${error.message}`);
      });
      item.vector = stored.vector;
    }
  }

  bindAudio() {
    const { form } = this;
    const { drop, player, warning } = elements({ drop: '#audio-drop', player: '#audio-player', warning: '#audio-warning' });
    const show = () => {
      const file = form.audio.files[0];
      drop.classList.toggle('has-file', Boolean(file));
      document.querySelector('#audio-name').textContent = file ? file.name : 'Drop a sound here';
      document.querySelector('#audio-hint').textContent = file
        ? `${formatBytes(file.size)} · click to choose another`
        : "or click to choose a file (WAV, FLAC, MP3, Ogg, or a video's soundtrack)";
      if (this.previewUrls.audio) URL.revokeObjectURL(this.previewUrls.audio);
      this.previewUrls.audio = file ? URL.createObjectURL(file) : null;
      player.hidden = !file;
      if (file) player.src = this.previewUrls.audio;
      else player.removeAttribute('src');
      this.checkAudio(file, drop, warning);
    };
    form.audio.addEventListener('change', show);
    wireDropZone(drop, form.audio, show);
    this.soundTrim = new SoundTrim();
    const recordStatus = document.querySelector('#record-status');
    new MicRecorder({
      button: document.querySelector('#record-button'),
      onError: (message) => {
        recordStatus.textContent = message;
      },
      onRecorded: async (blob) => {
        // kept as WAV when this browser can decode its own recording (every server reads WAV)
        const decoded = await decodeSound(blob);
        const file = decoded ? trimmedWavFile(decoded, 0, decoded.duration, 'recording.wav') : new File([blob], 'recording.webm', { type: blob.type });
        this.setAudioFile(file);
        recordStatus.textContent = `Recorded ${decoded ? `${decoded.duration.toFixed(1)} s` : ''}: trim it below, or record again`;
        show();
      },
    });
  }

  /** Makes `file` the chosen sound (as if picked in the file chooser). */
  setAudioFile(file) {
    const transfer = new DataTransfer();
    transfer.items.add(file);
    this.form.audio.files = transfer.files;
  }

  /**
   * Flags (under the drop zone) a sound this browser cannot decode; `drop[data-audio-check]` is
   * checking | playable | unplayable | unchecked. A flagged file can still be sent.
   */
  async checkAudio(file, drop, warning) {
    const check = Symbol('audio check');
    this.audioCheck = check;
    warning.hidden = true;
    this.soundTrim.show(null);
    if (!file) {
      delete drop.dataset.audioCheck;
      return;
    }
    drop.dataset.audioCheck = 'checking';
    const decoded = await decodeSound(file);
    if (this.audioCheck !== check) return;
    drop.dataset.audioCheck = decoded === null ? 'unchecked' : decoded ? 'playable' : 'unplayable';
    warning.hidden = decoded !== false;
    if (decoded) this.soundTrim.show(decoded);
  }

  /** `{ field: message }` for the number fields outside their bounds (the pack's limits where it has them). */
  numberProblems(pack) {
    const { form } = this;
    const values = Object.fromEntries(['steps', 'guidance', 'numImages', 'seed', 'noiseLevel'].map((name) => [name, form[name].value]));
    return numberProblems(values, numberRules(pack));
  }

  bindImage() {
    const { form } = this;
    const { thumb, name, clear } = elements({ thumb: '#image-thumb', name: '#image-name', clear: '#image-clear' });
    const show = () => {
      const file = form.image.files[0];
      if (this.previewUrls.image) URL.revokeObjectURL(this.previewUrls.image);
      this.previewUrls.image = file ? URL.createObjectURL(file) : null;
      thumb.hidden = !file;
      clear.hidden = !file;
      if (file) thumb.src = this.previewUrls.image;
      name.textContent = file ? `${file.name} · ${formatBytes(file.size)}` : 'No image';
    };
    form.image.addEventListener('change', show);
    clear.addEventListener('click', () => {
      form.image.value = '';
      show();
    });
  }

  /** Applies what the pack offers: modalities, defaults and limits (GET /v1/pack). */
  applyPack(pack) {
    const { form } = this;
    this.extras.applyPack(pack);
    for (const block of form.querySelectorAll('[data-modality]')) {
      const offered = pack.modalities.includes(block.dataset.modality);
      block.classList.toggle('unavailable', !offered);
      for (const input of block.querySelectorAll('input')) input.disabled = !offered;
    }
    form.steps.max = String(pack.limits.maxSteps);
    form.numImages.max = String(pack.limits.maxImages);
    form.noiseLevel.max = String(pack.limits.maxNoiseLevel);
    form.noiseLevel.placeholder = `pack's: ${pack.defaults.noiseLevel}`;
    form.prior.disabled = !pack.prior.available;
    if (pack.scheduler) form.scheduler.options[0].textContent = `pack's (${pack.scheduler})`;
    if (!this.packApplied) {
      form.steps.value = String(pack.defaults.steps);
      form.guidance.value = String(pack.defaults.guidance);
      this.packApplied = true;
    }
  }

  /**
   * The request and its files (@a2i/client sends them as one multipart body), or an error
   * message when nothing would go in. Stored items go as
   * `{ modality: 'item', collection, id }` or, with `itemsAs: 'embedding'`, as their vectors
   * (loadItemVectors first). `inputFields[i]`: the form field of input i (its weight slider),
   * for a refusal about `inputs.i`.
   */
  build({ itemsAs = 'item' } = {}) {
    const { form } = this;
    const inputs = [];
    const inputFields = [];
    const files = {};
    const audio = form.audio.files[0];
    const image = form.image.files[0];
    const text = form.text.value.trim();
    if (audio && !form.audio.disabled) {
      inputs.push({ modality: 'audio', file: 'audio', weight: Number(form.audioWeight.value) });
      inputFields.push('audioWeight');
      const sent = this.soundTrim.isTrimmed ? this.soundTrim.trimmedFile(audio.name) : audio;
      files.audio = { data: sent, name: sent.name };
    }
    if (image && !form.image.disabled) {
      inputs.push({ modality: 'image', file: 'image', weight: Number(form.imageWeight.value) });
      inputFields.push('imageWeight');
      files.image = { data: image, name: image.name };
    }
    if (text && !form.text.disabled) {
      inputs.push({ modality: 'text', text, weight: Number(form.textWeight.value) });
      inputFields.push('textWeight');
    }
    for (const extra of this.extras.chosen()) {
      inputs.push({ modality: extra.modality, file: extra.modality, weight: extra.weight });
      inputFields.push(extra.field);
      files[extra.modality] = { data: extra.file, name: extra.file.name };
    }
    for (const item of this.items) {
      inputFields.push(null);
      inputs.push(itemsAs === 'item' ? { modality: 'item', collection: item.collection, id: item.id, weight: item.weight } : { modality: 'embedding', vector: item.vector, weight: item.weight });
    }
    if (inputs.length === 0) return { error: 'Choose a sound first (or add an image, some text or a stored item).' };
    if (inputs.every((input) => input.weight === 0)) return { error: 'At least one input needs a weight above zero.' };
    const request = {
      inputs,
      steps: Number(form.steps.value),
      guidance: Number(form.guidance.value),
      numImages: Number(form.numImages.value),
      previewEvery: 2,
      prior: form.prior.disabled ? 'auto' : form.prior.value,
      format: form.format.value,
    };
    if (form.seed.value !== '') request.seed = Number(form.seed.value);
    if (form.noiseLevel.value !== '') request.noiseLevel = Number(form.noiseLevel.value);
    if (form.scheduler.value !== '') request.scheduler = form.scheduler.value;
    if (form.prompt.value.trim() !== '') request.prompt = form.prompt.value.trim();
    const output = this.output(inputs);
    if (output.error) return output;
    if (output.type) {
      // one video: no batch of images
      request.output = output;
      delete request.numImages;
    }
    return { request, files, inputFields };
  }

  /** The request's `output` ("Make a video": README "Sound to video"), `{}` for images, or `{ error }`. */
  output(inputs) {
    const { form } = this;
    const type = form.outputType.value;
    if (type === 'image') return {};
    const fps = Number(form.outputFps.value);
    if (type === 'video') {
      if (!inputs.some((input) => input.modality === 'audio')) return { error: 'A video follows a sound: choose or record one first.' };
      return { type: 'video', fps };
    }
    if (inputs.filter((input) => input.weight !== 0).length < 2) return { error: 'A morph moves between inputs: give it at least two (a sound, an image, some text).' };
    return { type: 'morph', fps, duration: Number(form.outputDuration.value) };
  }
}
