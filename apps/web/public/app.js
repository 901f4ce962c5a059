// The browser page: what the pack offers (GET /v1/pack), the composer form, and one job
// followed over socket.io, all through @a2i/client (api-client.js).
import { A2iError, client } from './api-client.js';
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
    pack = await client.pack();
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

/** A refusal (an A2iError) that says the server does not know `item` inputs (an older server refuses the modality). */
function refusesItems(error) {
  return error?.status === 400 && ['INVALID_REQUEST', 'UNSUPPORTED_MODALITY'].includes(error.code) && /modality|\bitem\b/i.test(error.message);
}

/** `{ created }`, or `{ refused }`: the server's A2iError (anything else, e.g. an unreachable server, throws). */
async function postGeneration(itemsAs) {
  if (itemsAs === 'embedding') await form.loadItemVectors();
  const built = form.build({ itemsAs });
  try {
    return { created: await client.generate(built.request, built.files) };
  } catch (error) {
    if (error instanceof A2iError && error.status !== undefined) return { refused: error };
    throw error;
  }
}

form.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.textContent = '';
  const built = form.build();
  if (built.error) {
    formError.textContent = built.error;
    return;
  }
  current?.following.abort();
  current = null;
  view.reset(pack?.prior.available === true);
  generateButton.disabled = true;
  try {
    const hasItems = form.items.length > 0;
    let sent = await postGeneration(hasItems && serverTakesItems === false ? 'embedding' : 'item');
    if (hasItems && serverTakesItems === null) {
      serverTakesItems = !refusesItems(sent.refused);
      if (!serverTakesItems) sent = await postGeneration('embedding');
    }
    if (sent.refused) {
      view.failed(sent.refused.code, sent.refused.message);
      return;
    }
    follow(sent.created);
  } catch (error) {
    view.failed('NETWORK', `Could not reach the server: ${error.message}`);
  } finally {
    generateButton.disabled = false;
  }
});

document.querySelector('#cancel').addEventListener('click', () => {
  // the job's events say when it is canceled (job:canceled); a cancel that comes too late changes nothing
  if (current) client.cancel(current.id, current.token).catch(() => undefined);
});

function follow({ id, token }) {
  // inlineImages: job:succeeded brings the images' bytes, so showing them takes no more requests
  const following = new AbortController();
  current = { id, token, following };
  view.queued(null);
  const show = {
    'job:queued': ({ position }) => view.queued(position),
    'job:started': ({ attempt }) => view.started(attempt),
    'job:progress': (progress) => view.progressed(progress),
    'job:preview': (preview) => view.preview(preview),
    'job:succeeded': ({ images }) => addToHistory(view.succeeded(images, token)),
    'job:failed': ({ code, message }) => view.failed(code, message),
    'job:canceled': () => view.canceled(),
  };
  client
    .follow({ id, token }, { inlineImages: true, signal: following.signal, onEvent: ({ type, payload }) => show[type]?.(payload) })
    .catch((error) => {
      if (!following.signal.aborted) view.failed(error.code ?? 'DISCONNECTED', error.message);
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
