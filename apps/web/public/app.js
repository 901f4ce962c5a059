// The browser page: what the pack offers (GET /v1/pack), the composer form, and one job
// followed over socket.io (served by the api at /socket.io/socket.io.js).
import { RequestForm } from './request-form.js';
import { JobView } from './job-view.js';
import { SearchView } from './search-view.js';
import { Tabs } from './tabs.js';

const PACK_RETRY_MS = 3000;

const form = new RequestForm(document.querySelector('#generate'));
const view = new JobView();
const formError = document.querySelector('#form-error');
const generateButton = document.querySelector('#generate-button');
const packStatus = document.querySelector('#pack-status');
const packLabel = document.querySelector('#pack-label');
const history = document.querySelector('#history');
let pack = null;
let current = null;
// Whether the server takes `item` inputs (a stored item by collection + id): unknown until the
// first generation with one; a server that refuses them gets the items' vectors instead.
let serverTakesItems = null;

const tabs = new Tabs(document.querySelector('[role=tablist]'), (panel) => {
  if (panel === 'search-view') search.loadCollections();
});
const search = new SearchView({
  onPick(item) {
    form.addItem(item);
    tabs.select('generate-view');
    document.querySelector('#item-inputs').scrollIntoView({ block: 'nearest' });
  },
});

async function loadPack() {
  try {
    const response = await fetch('/v1/pack');
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error?.message ?? `HTTP ${response.status}`);
    pack = answer;
    form.applyPack(pack);
    packStatus.dataset.state = 'ready';
    packLabel.textContent = `Model pack “${pack.name}” · ${pack.imageSize.width}×${pack.imageSize.height}`;
    packStatus.title = `${pack.dim}-d embeddings; takes ${pack.modalities.join(', ')}`;
  } catch {
    packStatus.dataset.state = 'waiting';
    packLabel.textContent = 'Waiting for a worker…';
    setTimeout(loadPack, PACK_RETRY_MS);
  }
}

/** A refusal that says the server does not know `item` inputs (an older server refuses the modality). */
function refusesItems(status, answer) {
  return status === 400 && ['INVALID_REQUEST', 'UNSUPPORTED_MODALITY'].includes(answer.error?.code) && /modality|\bitem\b/i.test(answer.error?.message ?? '');
}

async function postGeneration(itemsAs) {
  if (itemsAs === 'embedding') await form.loadItemVectors();
  const built = form.build({ itemsAs });
  const response = await fetch('/v1/generations', { method: 'POST', body: built.body });
  return { response, answer: await response.json() };
}

form.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.textContent = '';
  const built = form.build();
  if (built.error) {
    formError.textContent = built.error;
    return;
  }
  current?.socket.close();
  current = null;
  view.reset(pack?.prior.available === true);
  generateButton.disabled = true;
  try {
    const hasItems = form.items.length > 0;
    let { response, answer } = await postGeneration(hasItems && serverTakesItems === false ? 'embedding' : 'item');
    if (hasItems && serverTakesItems === null) {
      serverTakesItems = !refusesItems(response.status, answer);
      if (!serverTakesItems) ({ response, answer } = await postGeneration('embedding'));
    }
    if (!response.ok) {
      view.failed(answer.error.code, answer.error.message);
      return;
    }
    follow(answer);
  } catch (error) {
    view.failed('NETWORK', `Could not reach the server: ${error.message}`);
  } finally {
    generateButton.disabled = false;
  }
});

document.querySelector('#cancel').addEventListener('click', () => {
  if (current) current.socket.emit('job:cancel', { id: current.id, token: current.token }, () => undefined);
});

function follow({ id, token }) {
  // inlineImages: job:succeeded brings the images' bytes, so showing them takes no more requests
  const socket = window.io({ auth: { jobId: id, token, inlineImages: true } });
  current = { id, token, socket };
  view.queued(null);
  socket.on('connect_error', (error) => view.failed(error.data?.code ?? 'DISCONNECTED', `Cannot follow the job: ${error.data?.message ?? error.message}`));
  socket.on('job:queued', ({ position }) => view.queued(position));
  socket.on('job:started', ({ attempt }) => view.started(attempt));
  socket.on('job:progress', (progress) => view.progressed(progress));
  socket.on('job:preview', (preview) => view.preview(preview));
  socket.on('job:succeeded', ({ images }) => {
    const sources = view.succeeded(images, token);
    addToHistory(sources);
    socket.close();
  });
  socket.on('job:failed', ({ code, message }) => {
    view.failed(code, message);
    socket.close();
  });
  socket.on('job:canceled', () => {
    view.canceled();
    socket.close();
  });
}

function addToHistory(sources) {
  document.querySelector('#history-card').hidden = false;
  for (const src of sources) {
    const link = document.createElement('a');
    link.href = src;
    link.target = '_blank';
    link.rel = 'noopener';
    const img = document.createElement('img');
    img.src = src;
    img.alt = 'an earlier result';
    link.append(img);
    history.prepend(link);
  }
}

loadPack();
