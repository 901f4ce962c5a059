import { client } from './api-client.js';
import { heldJobs } from './held-jobs.js';
import { elements } from './page-elements.js';
import { describeInputs, describeSettings } from './request-summary.js';
// "Your results": this browser's past generations (GET /v1/generations with the held jobs'
// tokens), newest first, each image with the request it ran with, a Download link and
// "Use these settings again". Survives a reload (held-jobs.js keeps the tokens).

export class Gallery {
  /** `onReuse(echo)`: the person wants the settings of a past job (its echoed request) in the form. */
  constructor({ onReuse }) {
    Object.assign(this, elements({ card: '#history-card', strip: '#history' }));
    this.onReuse = onReuse;
    this.loading = null;
  }

  /** Asks the server for the held jobs and shows the succeeded ones (nothing to ask: no request). */
  async load() {
    const held = heldJobs();
    if (held.length === 0) return;
    const tokens = new Map(held.map((job) => [job.id, job.token]));
    const answer = await client.history({ limit: 100, status: 'succeeded' }, held).catch(() => null);
    if (!answer) return;
    const entries = answer.data.filter((job) => job.status === 'succeeded' && job.images?.length);
    this.card.hidden = entries.length === 0;
    this.strip.replaceChildren(...entries.flatMap((job) => job.images.map((image) => this.entry(job, image, tokens.get(job.id)))));
    this.strip.dataset.loaded = String(entries.length);
  }

  /** Loads again, one load at a time (a job that ends during a load asks for one more). */
  refresh() {
    const next = (this.loading ?? Promise.resolve()).then(() => this.load());
    this.loading = next.finally(() => {
      if (this.loading === next) this.loading = null;
    });
    return next;
  }

  entry(job, image, token) {
    const src = `${image.url}?token=${encodeURIComponent(token)}`;
    const figure = document.createElement('figure');
    figure.className = 'past-result';
    figure.dataset.jobId = job.id;
    const img = document.createElement('img');
    img.src = src;
    img.alt = `past result, seed ${image.seed}`;
    img.loading = 'lazy';
    const caption = document.createElement('figcaption');
    const when = document.createElement('time');
    when.dateTime = job.createdAtIso;
    when.textContent = new Date(job.createdAt).toLocaleString();
    const inputs = document.createElement('span');
    inputs.className = 'past-inputs';
    const settings = document.createElement('span');
    settings.className = 'past-settings';
    if (job.request) {
      inputs.textContent = describeInputs(job.request);
      settings.textContent = describeSettings({ ...job.request, seed: image.seed });
    }
    const actions = document.createElement('span');
    actions.className = 'past-actions';
    const download = document.createElement('a');
    download.href = src;
    download.download = `sound-to-image-${image.seed}.${image.format}`;
    download.textContent = 'Download';
    actions.append(download);
    if (job.request) {
      const reuse = document.createElement('button');
      reuse.type = 'button';
      reuse.className = 'link reuse';
      reuse.textContent = 'Use these settings again';
      reuse.addEventListener('click', () => this.onReuse({ ...job.request, seed: image.seed }));
      actions.append(reuse);
    }
    caption.append(when, inputs, settings, actions);
    figure.append(img, caption);
    return figure;
  }
}
