// An AudioWorklet processor that hands every block of its input's first channel to the page
// (live-capture.js) and lets the sound through unchanged.
class PcmTap extends AudioWorkletProcessor {
  process(inputs, outputs) {
    const channel = inputs[0]?.[0];
    if (channel) this.port.postMessage(channel.slice(0));
    for (let c = 0; c < (outputs[0]?.length ?? 0); c++) if (inputs[0]?.[c]) outputs[0][c].set(inputs[0][c]);
    return true;
  }
}
registerProcessor('pcm-tap', PcmTap);
