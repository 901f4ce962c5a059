// Recording from the microphone (getUserMedia + MediaRecorder): the button starts and stops;
// while it records the button says so with the seconds so far. `onRecorded(blob)` gets the
// recording (the browser's own format, e.g. audio/webm with Opus).
export class MicRecorder {
  constructor({ button, onRecorded, onError }) {
    this.button = button;
    this.onRecorded = onRecorded;
    this.onError = onError;
    this.recorder = null;
    button.hidden = !(navigator.mediaDevices?.getUserMedia && globalThis.MediaRecorder);
    button.addEventListener('click', () => (this.recorder ? this.stop() : this.start()));
  }

  async start() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      this.onError(`No microphone: ${error.message}`);
      return;
    }
    const chunks = [];
    const recorder = new MediaRecorder(stream);
    this.recorder = recorder;
    recorder.addEventListener('dataavailable', (event) => chunks.push(event.data));
    recorder.addEventListener('stop', () => {
      for (const track of stream.getTracks()) track.stop();
      clearInterval(this.ticker);
      this.recorder = null;
      this.label('Record');
      this.onRecorded(new Blob(chunks, { type: recorder.mimeType || 'audio/webm' }));
    });
    recorder.start();
    const began = Date.now();
    this.label('Stop recording · 0 s', true);
    this.ticker = setInterval(() => this.label(`Stop recording · ${Math.floor((Date.now() - began) / 1000)} s`, true), 500);
  }

  stop() {
    this.recorder?.stop();
  }

  label(text, recording = false) {
    this.button.textContent = text;
    this.button.setAttribute('aria-pressed', String(recording));
  }
}
