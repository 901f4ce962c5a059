import { client } from './api-client.js';
import { LiveCapture } from './live-capture.js';
import { LIVE_RATE } from './pcm-16k.js';
import { elements } from './page-elements.js';
// The Live tab (README "Live sound"): streams the microphone or a playing file to the server
// (@a2i/client's live()), shows each picture as it comes with its latency, and keeps the
// pictures the person wants (a strip with download links). `#live-result[data-state]` is
// idle | listening | ended (the browser test waits on it); `data-pictures` counts the pictures.

export class LiveView {
  constructor() {
    Object.assign(
      this,
      elements({
        mic: '#live-mic',
        stop: '#live-stop',
        file: '#live-file',
        player: '#live-player',
        steps: '#live-steps',
        text: '#live-text',
        status: '#live-status',
        result: '#live-result',
        badge: '#live-badge',
        image: '#live-image',
        placeholder: '#live-placeholder',
        meta: '#live-meta',
        keep: '#live-keep',
        kept: '#live-kept',
      }),
    );
    this.session = null;
    this.capture = new LiveCapture({ onChunk: (pcm) => this.session?.send(pcm) });
    this.current = null;
    this.pictures = 0;
    this.mic.hidden = !navigator.mediaDevices?.getUserMedia;
    this.mic.addEventListener('click', () => this.start(() => this.capture.fromMicrophone(), 'the microphone'));
    this.stop.addEventListener('click', () => this.end());
    this.file.addEventListener('change', () => {
      const file = this.file.files[0];
      if (!file) return;
      // a media element feeds one audio graph for its whole life: each file gets a fresh one
      const fresh = this.player.cloneNode();
      this.player.replaceWith(fresh);
      this.player = fresh;
      this.player.hidden = false;
      this.player.src = URL.createObjectURL(file);
      this.start(async () => {
        await this.capture.fromElement(this.player);
        await this.player.play();
      }, file.name);
    });
    this.keep.addEventListener('click', () => this.keepCurrent());
  }

  setState(state, badge, text) {
    this.result.dataset.state = state;
    this.badge.textContent = badge;
    this.status.textContent = text;
    this.mic.disabled = state === 'listening';
    this.stop.disabled = state !== 'listening';
  }

  /** Starts a stream on the server, then the sound (`begin`); the previous stream ends first. */
  async start(begin, what) {
    await this.end();
    const request = { sampleRate: LIVE_RATE };
    const steps = this.steps.value.trim();
    if (steps !== '') request.steps = Number(steps);
    const text = this.text.value.trim();
    if (text !== '') request.inputs = [{ modality: 'text', text, weight: 0.3 }];
    try {
      this.session = await client.live(request, { onImage: (event) => this.show(event), onEnded: (event) => this.ended(event) });
      await begin();
      this.setState('listening', 'Listening', `Listening to ${what}: a new picture whenever the server is free (${this.session.steps} steps each).`);
    } catch (error) {
      const session = this.session;
      // its live:ended must not say more than this
      this.session = null;
      await session?.stop().catch(() => undefined);
      await this.capture.close();
      this.setState('ended', 'Stopped', `Could not start: ${error.message}${error.code ? ` (${error.code})` : ''}`);
    }
  }

  show(event) {
    const url = URL.createObjectURL(new Blob([event.image], { type: event.mime }));
    if (this.image.src) URL.revokeObjectURL(this.image.src);
    this.image.src = url;
    this.image.hidden = false;
    this.placeholder.hidden = true;
    this.current = { blob: new Blob([event.image], { type: event.mime }), seq: event.seq };
    this.pictures += 1;
    this.result.dataset.pictures = String(this.pictures);
    this.meta.textContent = `Picture ${event.seq} · ${event.latencyMs} ms after the sound it shows · ${event.windowSec.toFixed(1)} s of sound`;
    this.keep.disabled = false;
  }

  keepCurrent() {
    if (!this.current) return;
    const url = URL.createObjectURL(this.current.blob);
    const item = document.createElement('li');
    const img = Object.assign(document.createElement('img'), { src: url, alt: `kept live picture ${this.current.seq}` });
    const download = Object.assign(document.createElement('a'), { href: url, download: `live-${this.current.seq}.webp`, textContent: 'Download' });
    item.append(img, download);
    this.kept.prepend(item);
  }

  ended(event) {
    if (this.result.dataset.state !== 'listening') return;
    this.session = null;
    this.capture.close();
    this.setState('ended', 'Stopped', event.reason === 'stopped' ? `Stopped after ${event.stats.pictures} pictures.` : `The stream ended (${event.reason}${event.code ? `: ${event.code}` : ''}).`);
  }

  async end() {
    const session = this.session;
    this.session = null;
    this.player.pause();
    await this.capture.close();
    if (session) {
      await session.stop().catch(() => undefined);
      this.setState('ended', 'Stopped', 'Stopped.');
    }
  }
}
