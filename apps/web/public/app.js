// The browser page: builds the multipart request (a `request` JSON field + one part per file),
// then follows the job over socket.io (served by the api at /socket.io/socket.io.js).
const form = document.querySelector('#generate');
const statusLine = document.querySelector('#status');
const progressBar = document.querySelector('#progress');
const previews = document.querySelector('#previews');
const images = document.querySelector('#images');
const jobSection = document.querySelector('#job');
const cancelButton = document.querySelector('#cancel');
let current = null;

for (const range of form.querySelectorAll('input[type=range]')) {
  const output = range.nextElementSibling;
  const show = () => (output.textContent = Number(range.value).toFixed(2));
  range.addEventListener('input', show);
  show();
}

const drop = document.querySelector('#audio-drop');
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  if (event.dataTransfer.files.length > 0) form.audio.files = event.dataTransfer.files;
});

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.className = isError ? 'error' : '';
}

function buildRequest() {
  const inputs = [];
  const body = new FormData();
  if (form.audio.files[0]) {
    inputs.push({ modality: 'audio', file: 'audio', weight: Number(form.audioWeight.value) });
    body.set('audio', form.audio.files[0]);
  }
  if (form.image.files[0]) {
    inputs.push({ modality: 'image', file: 'image', weight: Number(form.imageWeight.value) });
    body.set('image', form.image.files[0]);
  }
  if (form.text.value.trim()) inputs.push({ modality: 'text', text: form.text.value.trim(), weight: Number(form.textWeight.value) });
  const request = { inputs, steps: Number(form.steps.value), numImages: Number(form.numImages.value), previewEvery: 2 };
  if (form.seed.value !== '') request.seed = Number(form.seed.value);
  body.set('request', JSON.stringify(request));
  return body;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  current?.socket.close();
  previews.replaceChildren();
  images.replaceChildren();
  progressBar.value = 0;
  jobSection.hidden = false;
  say('Sending…');
  const response = await fetch('/v1/generations', { method: 'POST', body: buildRequest() });
  const answer = await response.json();
  if (!response.ok) return say(`${answer.error.code}: ${answer.error.message}`, true);
  follow(answer);
});

cancelButton.addEventListener('click', () => {
  if (current) current.socket.emit('job:cancel', { id: current.id, token: current.token }, () => undefined);
});

function follow({ id, token }) {
  const socket = window.io({ auth: { jobId: id, token } });
  current = { id, token, socket };
  const previewByIndex = new Map();
  socket.on('connect_error', (error) => say(`Cannot follow the job: ${error.data?.message ?? error.message}`, true));
  socket.on('job:queued', ({ position }) => say(position ? `Queued: position ${position}` : 'Queued'));
  socket.on('job:started', ({ attempt }) => say(attempt > 1 ? `Started (attempt ${attempt})` : 'Started'));
  socket.on('job:progress', ({ stage, step, steps, etaMs }) => {
    progressBar.value = step / steps;
    say(`${stage} ${step}/${steps}${etaMs != null ? ` — about ${Math.ceil(etaMs / 1000)} s left` : ''}`);
  });
  socket.on('job:preview', ({ index, image, mime }) => {
    let img = previewByIndex.get(index);
    if (!img) {
      img = document.createElement('img');
      img.alt = `preview ${index}`;
      previewByIndex.set(index, img);
      previews.append(img);
    }
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(new Blob([image], { type: mime }));
  });
  socket.on('job:succeeded', ({ images: links }) => {
    say('Done');
    progressBar.value = 1;
    previews.replaceChildren();
    for (const link of links) {
      const img = document.createElement('img');
      img.alt = `image ${link.index} (seed ${link.seed})`;
      img.src = `${link.url}?token=${encodeURIComponent(token)}`;
      images.append(img);
    }
    socket.close();
  });
  socket.on('job:failed', ({ code, message }) => { say(`${code}: ${message}`, true); socket.close(); });
  socket.on('job:canceled', () => { say('Canceled'); socket.close(); });
}
