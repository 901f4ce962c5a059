import { client } from './api-client.js';
import { wireDropZone } from './drop-zone.js';
import { itemPicture } from './item-picture.js';
import { elements, orPlaceholder } from './page-elements.js';
// The Search view: a query (a dropped file and/or text), a collection (GET /v1/collections),
// and the nearest stored items as a grid (POST /v1/collections/:name/search). Clicking an item
// hands it to `onPick` (the page adds it to the Generate form). `#search-results[data-state]`
// is idle | searching | done | failed (the browser test waits on it).

const MODALITY_OF_TYPE = [
  ['audio/', 'audio'],
  ['image/', 'image'],
  ['video/', 'video'],
];
const BADGES = { idle: 'Idle', searching: 'Searching', done: 'Done', failed: 'Failed' };

/** The input modality of a dropped file, from its type (the server checks the bytes again). */
export function modalityOfFile(file) {
  const found = MODALITY_OF_TYPE.find(([prefix]) => file.type.startsWith(prefix));
  if (found) return found[1];
  return /\.(wav|flac|mp3|ogg|oga|opus|m4a|aac|aiff?)$/i.test(file.name) ? 'audio' : null;
}

export class SearchView {
  constructor({ onPick }) {
    Object.assign(
      this,
      elements({
        form: '#search',
        results: '#search-results',
        badge: '#search-badge',
        hits: '#hits',
        error: '#search-error',
        collection: '#search-collection',
        button: '#search-button',
      }),
    );
    this.onPick = onPick;
    this.collectionsLoaded = false;
    this.bindFile();
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.search();
    });
  }

  bindFile() {
    const drop = document.querySelector('#search-drop');
    const input = this.form.file;
    const show = () => {
      const file = input.files[0];
      drop.classList.toggle('has-file', Boolean(file));
      document.querySelector('#search-file-name').textContent = file ? file.name : 'Drop a sound here';
      document.querySelector('#search-file-hint').textContent = file ? 'click to choose another' : 'or click to choose a file (a sound, an image or a video)';
    };
    const changed = () => {
      show();
      // a file dropped with a collection chosen is a query: search at once
      if (input.files[0] && this.collection.value) this.search();
    };
    input.addEventListener('change', changed);
    wireDropZone(drop, input, changed);
  }

  setState(state) {
    this.results.dataset.state = state;
    this.badge.textContent = BADGES[state];
  }

  /** Fills the collection picker (the one named `demo` first chosen when there is one). */
  async loadCollections() {
    try {
      const collections = await client.listCollections();
      const previous = this.collection.value;
      const options = collections.map((c) => {
        const option = document.createElement('option');
        option.value = c.name;
        option.textContent = `${c.name} (${c.count} item${c.count === 1 ? '' : 's'})`;
        return option;
      });
      this.collection.replaceChildren(...orPlaceholder(options, 'option', 'No collections yet (a2i index create)', { value: '' }));
      const names = collections.map((c) => c.name);
      this.collection.value = names.includes(previous) ? previous : names.includes('demo') ? 'demo' : (names[0] ?? '');
      this.collectionsLoaded = true;
    } catch (error) {
      this.error.textContent = `Could not list the collections: ${error.message}`;
    }
  }

  async search() {
    this.error.textContent = '';
    const name = this.collection.value;
    const file = this.form.file.files[0];
    const text = this.form.text.value.trim();
    if (!name) {
      this.error.textContent = 'Choose a collection first.';
      return;
    }
    const inputs = [];
    const files = {};
    if (file) {
      const modality = modalityOfFile(file);
      if (!modality) {
        this.error.textContent = `${file.name} is not a sound, an image or a video.`;
        return;
      }
      inputs.push({ modality, file: 'query', weight: 1 });
      files.query = { data: file, name: file.name };
    }
    if (text) inputs.push({ modality: 'text', text, weight: 1 });
    if (inputs.length === 0) {
      this.error.textContent = 'Drop a file or type some words first.';
      return;
    }
    const request = { inputs, k: Number(this.form.k.value) || 8 };
    if (this.form.modality.value) request.modality = this.form.modality.value;
    this.setState('searching');
    this.button.disabled = true;
    try {
      const answer = await client.search(name, request, files);
      this.show(name, answer.results);
      this.setState('done');
    } catch (error) {
      this.error.textContent = `Search failed: ${error.code ? `${error.code}: ` : ''}${error.message}`;
      this.setState('failed');
    } finally {
      this.button.disabled = false;
    }
  }

  /** One button per hit: the thumbnail (or the modality's icon and the id), the score. */
  show(collection, results) {
    const items = results.map((hit, rank) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'hit';
      button.dataset.id = hit.id;
      button.dataset.modality = hit.modality;
      button.setAttribute('aria-label', `Use ${hit.id} (${hit.modality}, score ${hit.score.toFixed(3)}) as a generation input`);
      button.append(itemPicture(hit, { lazy: true }));
      const caption = document.createElement('span');
      caption.className = 'hit-caption';
      const id = document.createElement('span');
      id.className = 'hit-id';
      id.textContent = hit.id;
      const score = document.createElement('span');
      score.className = 'hit-score';
      score.textContent = `#${rank + 1} · ${hit.score.toFixed(3)}`;
      caption.append(id, score);
      button.append(caption);
      button.addEventListener('click', () => this.onPick({ collection, id: hit.id, modality: hit.modality, media: hit.media ?? null }));
      li.append(button);
      return li;
    });
    this.hits.replaceChildren(...orPlaceholder(items, 'li', 'Nothing matched.', { className: 'empty' }));
  }
}
