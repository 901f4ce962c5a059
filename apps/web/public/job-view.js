// Shows one generation in its own card (a copy of #job-template): a state badge, the stage
// track, an overall progress bar, live previews, the final images and its own Cancel.
// `.job-card[data-state]` is idle | sending | queued | running | succeeded | failed |
// canceled (the browser tests wait on it); `data-job-id` once the server has made the job.

const BADGES = {
  idle: 'Idle',
  sending: 'Uploading',
  queued: 'Queued',
  running: 'Generating',
  succeeded: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};
const STAGE_NAMES = { embed: 'Embedding the inputs', prior: 'Running the prior', decode: 'Painting', frames: 'Making the frames', encode: 'Writing the video' };
const STAGE_ORDER = ['queued', 'embed', 'prior', 'decode', 'frames', 'encode', 'done'];
const IMAGE_TYPES = { png: 'image/png', webp: 'image/webp', jpeg: 'image/jpeg' };

/** The parts of a card, by class. */
function cardParts(card) {
  const part = (selector) => card.querySelector(selector);
  return {
    badge: part('.badge'),
    status: part('.status'),
    eta: part('.eta'),
    fill: part('.bar-fill'),
    progress: part('progress'),
    previews: part('.previews'),
    images: part('.images'),
    videos: part('.videos'),
    placeholder: part('.placeholder'),
    stages: part('.steps'),
    cancel: part('.cancel'),
  };
}

export class JobView {
  /**
   * A new card for job number `number` (1, 2, … in this page), first in `list`. `announcer`: the
   * page's one polite live region. `onCancel()`: the card's Cancel was pressed.
   */
  constructor({ list, template, announcer, number, onCancel }) {
    this.root = template.content.firstElementChild.cloneNode(true);
    Object.assign(this, cardParts(this.root));
    this.announcer = announcer;
    this.number = number;
    const title = this.root.querySelector('.job-title');
    title.id = `job-${number}-title`;
    title.textContent = `Result ${number}`;
    this.root.setAttribute('aria-labelledby', title.id);
    this.progress.setAttribute('aria-label', `Progress of result ${number}`);
    this.cancel.setAttribute('aria-label', `Cancel result ${number}`);
    this.cancel.addEventListener('click', () => onCancel?.());
    list.prepend(this.root);
    this.previewByIndex = new Map();
    this.ranges = { embed: [0, 0.1], prior: [0.1, 0.3], decode: [0.3, 1] };
    this.fraction = 0;
  }

  /**
   * Stage ranges of the overall bar: the prior only takes a share when it runs. A video
   * (`output` video or morph) goes embed -> frames -> encode instead.
   */
  reset(usesPrior, output = 'image') {
    const video = output === 'video' || output === 'morph';
    this.video = video;
    if (video) this.ranges = { embed: [0, 0.08], frames: [0.08, 0.95], encode: [0.95, 1] };
    else this.ranges = usesPrior ? { embed: [0, 0.08], prior: [0.08, 0.3], decode: [0.3, 1] } : { embed: [0, 0.08], prior: [0.08, 0.08], decode: [0.08, 1] };
    for (const stage of ['decode', 'frames', 'encode']) this.stages.querySelector(`[data-stage=${stage}]`).hidden = (stage === 'decode') === video;
    this.videos.replaceChildren();
    for (const url of this.previewByIndex.values()) URL.revokeObjectURL(url.src);
    this.previewByIndex.clear();
    this.previews.replaceChildren();
    this.images.replaceChildren();
    this.placeholder.hidden = false;
    this.stages.querySelector('[data-stage=prior]').hidden = !usesPrior || video;
    this.setFraction(0, true);
    this.eta.textContent = '';
    this.markStage(null);
    this.announced = null;
    this.setState('sending', 'Uploading the inputs…');
  }

  /**
   * Says `text` to screen readers (a polite live region) once per stage: the status line
   * changes every step, which would be read out step by step.
   */
  announce(stage, text) {
    if (this.announced === stage) return;
    this.announced = stage;
    this.announcer.textContent = `Result ${this.number}: ${text}`;
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
    const at = current ? STAGE_ORDER.indexOf(current) : -1;
    for (const item of this.stages.children) {
      const index = STAGE_ORDER.indexOf(item.dataset.stage);
      item.classList.toggle('done', index < at);
      item.classList.toggle('current', index === at);
    }
  }

  /** The server made the job. */
  created(id) {
    this.root.dataset.jobId = id;
  }

  queued(position) {
    this.markStage('queued');
    this.setState('queued', position ? `In the queue: position ${position}` : 'In the queue');
    this.announce('queued', 'In the queue');
  }

  started(attempt) {
    this.setState('running', attempt > 1 ? `Started again (attempt ${attempt})` : 'Started');
  }

  progressed({ stage, step, steps, etaMs }) {
    const [from, to] = this.ranges[stage] ?? [0, 1];
    this.setFraction(from + ((to - from) * step) / steps);
    this.markStage(stage);
    this.setState('running', `${STAGE_NAMES[stage] ?? stage} · ${stage === 'frames' ? 'frame' : 'step'} ${step} of ${steps}`);
    this.announce(stage, STAGE_NAMES[stage] ?? stage);
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
    this.announce('succeeded', this.status.textContent);
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

  /** A video job's MP4, played here, with a download link. */
  succeededVideo(video, token) {
    this.setFraction(1);
    this.markStage('done');
    this.eta.textContent = '';
    this.setState('succeeded', `Your video is ready: ${video.frames} frames, ${video.durationSec.toFixed(1)} s`);
    this.announce('succeeded', this.status.textContent);
    this.placeholder.hidden = true;
    this.previews.replaceChildren();
    const src = `${video.url}?token=${encodeURIComponent(token)}`;
    const player = document.createElement('video');
    player.className = 'final';
    player.controls = true;
    player.loop = true;
    player.playsInline = true;
    player.src = src;
    player.setAttribute('aria-label', `video of result ${this.number}`);
    const download = document.createElement('a');
    download.href = src;
    download.download = `sound-to-video-${this.root.dataset.jobId ?? 'result'}.mp4`;
    download.textContent = 'Download the MP4';
    const figure = document.createElement('figure');
    const caption = document.createElement('figcaption');
    caption.append(`${video.width}×${video.height}, ${video.fps} fps${video.audio ? ', with its sound' : ''}`, download);
    figure.append(player, caption);
    this.videos.replaceChildren(figure);
  }

  failed(code, message) {
    this.eta.textContent = '';
    this.setState('failed', `${message} (${code})`, true);
    this.announce('failed', `Failed: ${message}`);
  }

  canceled() {
    this.eta.textContent = '';
    this.setState('canceled', 'Canceled');
    this.announce('canceled', 'Canceled');
  }
}
