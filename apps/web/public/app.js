// The browser page: what the pack offers (GET /v1/pack), the composer form, and its jobs
// (each in its own card, followed over socket.io), all through @a2i/client (api-client.js).
import { A2iError, client } from './api-client.js';
import { RequestForm } from './request-form.js';
import { JobList } from './job-list.js';
import { SearchView } from './search-view.js';
import { Tabs } from './tabs.js';
import { FieldErrors } from './field-errors.js';
import { fieldsInServerMessage } from './request-checks.js';
import { Gallery } from './gallery.js';
import { holdJob } from './held-jobs.js';
import { applyEcho } from './settings-reuse.js';
import { LiveView } from './live-view.js';

const PACK_RETRY_MS = 3000;

const form = new RequestForm(document.querySelector('#generate'));
const jobs = new JobList({ onSucceeded: () => gallery.refresh() });
const reuseNote = document.querySelector('#reuse-note');
const gallery = new Gallery({
  onReuse(echo) {
    reuseNote.textContent = applyEcho(form.form, echo);
    reuseNote.hidden = false;
    form.form.scrollIntoView({ block: 'start' });
    form.form.querySelector('#audio-file').focus();
  },
});
const fieldErrors = new FieldErrors(form.form);
const formError = document.querySelector('#form-error');
const packStatus = document.querySelector('#pack-status');
const packLabel = document.querySelector('#pack-label');
let pack = null;
// Whether the server takes `item` inputs (a stored item by collection + id): unknown until the
// first generation with one; a server that refuses them gets the items' vectors instead.
let serverTakesItems = null;

const live = new LiveView();
const tabs = new Tabs(document.querySelector('[role=tablist]'), (panel) => {
  if (panel === 'search-view') search.loadCollections();
  // leaving the Live tab stops listening
  if (panel !== 'live-view') live.end();
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
  reuseNote.hidden = true;
  fieldErrors.clearAll();
  const built = form.build();
  if (built.error) {
    formError.textContent = built.error;
    return;
  }
  if (fieldErrors.showAll(form.numberProblems(pack)) > 0) {
    formError.textContent = 'Nothing sent: fix the marked field.';
    return;
  }
  const view = jobs.add(pack?.prior.available === true, built.request.output?.type);
  showResultCard(view.root);
  try {
    const hasItems = form.items.length > 0;
    let sent = await postGeneration(hasItems && serverTakesItems === false ? 'embedding' : 'item');
    if (hasItems && serverTakesItems === null) {
      serverTakesItems = !refusesItems(sent.refused);
      if (!serverTakesItems) sent = await postGeneration('embedding');
    }
    if (sent.refused) {
      if (showNextToFields(sent.refused.message, built.inputFields)) jobs.discard(view);
      else view.failed(sent.refused.code, sent.refused.message);
      return;
    }
    holdJob(sent.created);
    jobs.follow(view, sent.created);
  } catch (error) {
    view.failed('NETWORK', `Could not reach the server: ${error.message}`);
  }
});

/** Shows a refusal's field messages next to their fields; false when it names no field the form has. */
function showNextToFields(message, inputFields) {
  const problems = {};
  for (const { path, message: text } of fieldsInServerMessage(message)) {
    const input = /^inputs\.(\d+)/.exec(path);
    const name = input ? inputFields[Number(input[1])] : path;
    if (name && form.form.elements.namedItem(name)) problems[name] = text;
  }
  if (Object.keys(problems).length === 0) return false;
  fieldErrors.showAll(problems);
  formError.textContent = 'Nothing generated: fix the marked field.';
  return true;
}

/** Scrolls the result card's top into view when it is not on screen (on a phone it sits below the form). */
function showResultCard(card) {
  const { top } = card.getBoundingClientRect();
  if (top < 0 || top > window.innerHeight - 80) card.scrollIntoView({ block: 'start' });
}

loadPack();
gallery.load();
