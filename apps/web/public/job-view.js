import { elements } from './page-elements.js';
// Shows one generation: a state badge, the stage track, an overall progress bar, live
// previews and the final images. `#job[data-state]` is idle | sending | queued | running |
// succeeded | failed | canceled (the browser test waits on it).

const BADGES = {
  idle: 'Idle',
  sending: 'Uploading',
  queued: 'Queued',
  running: 'Generating',
  succeeded: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};
const STAGE_NAMES = { embed: 'Embedding the inputs', prior: 'Running the prior', decode: 'Painting' };
const IMAGE_TYPES = { png: 'image/png', webp: 'image/webp', jpeg: 'image/jpeg' };

export class JobView {
  constructor() {
    Object.assign(
      this,
      elements({
        root: '#job',
        badge: '#job-badge',
        status: '#status',
        eta: '#eta',
        fill: '#progress-fill',
        progress: '#progress',
        previews: '#previews',
        images: '#images',
        placeholder: '#placeholder',
        stages: '#stages',
        cancel: '#cancel',
      }),
    );
    this.previewByIndex = new Map();
    this.ranges = { embed: [0, 0.1], prior: [0.1, 0.3], decode: [0.3, 1] };
    this.fraction = 0;
  }

  /** Stage ranges of the overall bar: the prior only takes a share when it runs. */
  reset(usesPrior) {
    this.ranges = usesPrior ? { embed: [0, 0.08], prior: [0.08, 0.3], decode: [0.3, 1] } : { embed: [0, 0.08], prior: [0.08, 0.08], decode: [0.08, 1] };
    for (const url of this.previewByIndex.values()) URL.revokeObjectURL(url.src);
    this.previewByIndex.clear();
    this.previews.replaceChildren();
    this.images.replaceChildren();
    this.placeholder.hidden = false;
    this.stages.querySelector('[data-stage=prior]').hidden = !usesPrior;
    this.setFraction(0, true);
    this.eta.textContent = '';
    this.markStage(null);
    this.setState('sending', 'Uploading the inputs…');
  }

  setState(state, text, isError = false) {
    this.root.dataset.state = state;
    this.badge.textContent = BADGES[state];
    this.status.textContent = text;
    this.status.classList.toggle('error', isError);
    this.cancel.hidden = !['queued', 'running'].includes(state);
  }

  setFraction(value, force = false) {
    const next = force ? value : Math.max(this.fraction, value);
    this.fraction = next;
    this.fill.style.width = `${(next * 100).toFixed(1)}%`;
    this.progress.value = next;
  }

  markStage(current) {
    const order = ['queued', 'embed', 'prior', 'decode', 'done'];
    const at = current ? order.indexOf(current) : -1;
    for (const item of this.stages.children) {
      const index = order.indexOf(item.dataset.stage);
      item.classList.toggle('done', index < at);
      item.classList.toggle('current', index === at);
    }
  }

  queued(position) {
    this.markStage('queued');
    this.setState('queued', position ? `In the queue: position ${position}` : 'In the queue');
  }

  started(attempt) {
    this.setState('running', attempt > 1 ? `Started again (attempt ${attempt})` : 'Started');
  }

  progressed({ stage, step, steps, etaMs }) {
    const [from, to] = this.ranges[stage] ?? [0, 1];
    this.setFraction(from + ((to - from) * step) / steps);
    this.markStage(stage);
    this.setState('running', `${STAGE_NAMES[stage] ?? stage} · step ${step} of ${steps}`);
    this.eta.textContent = etaMs != null ? `about ${Math.max(1, Math.ceil(etaMs / 1000))} s left` : '';
  }

  preview({ index, image, mime, step }) {
    this.placeholder.hidden = true;
    let img = this.previewByIndex.get(index);
    if (!img) {
      img = document.createElement('img');
      img.className = 'preview';
      this.previewByIndex.set(index, img);
      this.previews.append(img);
    }
    img.alt = `preview of image ${index + 1} at step ${step}`;
    const old = img.src;
    img.src = URL.createObjectURL(new Blob([image], { type: mime }));
    if (old) URL.revokeObjectURL(old);
  }

  succeeded(links, token) {
    this.setFraction(1);
    this.markStage('done');
    this.eta.textContent = '';
    this.setState('succeeded', links.length === 1 ? 'Your image is ready' : `Your ${links.length} images are ready`);
    this.placeholder.hidden = true;
    this.previews.replaceChildren();
    const figures = links.map((link) => {
      // the bytes when they came inside the event (inlineImages), else the link with the token
      const src = link.data
        ? URL.createObjectURL(new Blob([link.data], { type: IMAGE_TYPES[link.format] ?? 'image/png' }))
        : `${link.url}?token=${encodeURIComponent(token)}`;
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.className = 'final';
      img.alt = `image ${link.index + 1} (seed ${link.seed})`;
      img.src = src;
      const caption = document.createElement('figcaption');
      const download = document.createElement('a');
      download.href = src;
      download.download = `sound-to-image-${link.seed}.${link.format ?? 'png'}`;
      download.textContent = 'Download';
      caption.append(`Seed ${link.seed}`, download);
      figure.append(img, caption);
      return figure;
    });
    this.images.replaceChildren(...figures);
    return figures.map((figure) => figure.querySelector('img').src);
  }

  failed(code, message) {
    this.eta.textContent = '';
    this.setState('failed', `${message} (${code})`, true);
  }

  canceled() {
    this.eta.textContent = '';
    this.setState('canceled', 'Canceled');
  }
}
