import cliProgress from 'cli-progress';

/** One progress bar per run, relabelled per stage (embed, prior, decode); silent when not a TTY. */
export function createProgressDisplay(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    { format: '{stage} [{bar}] {value}/{total} {eta_text}', hideCursor: true, noTTYOutput: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stage = '';
  return {
    update(p: { stage: string; step: number; steps: number; etaMs?: number | null }) {
      if (!enabled) return;
      const eta_text = p.etaMs != null ? `~${Math.ceil(p.etaMs / 1000)}s left` : '';
      if (!started) {
        bar.start(p.steps, p.step, { stage: p.stage, eta_text });
        started = true;
      } else if (p.stage !== stage) {
        bar.setTotal(p.steps);
      }
      stage = p.stage;
      bar.update(p.step, { stage: p.stage, eta_text });
    },
    note(message: string) {
      if (!started) process.stderr.write(`${message}\n`);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** A bar over items (index add): `items [=====] 12/40 robin.wav`; silent when not enabled. */
export function createItemsDisplay(enabled: boolean, total: number) {
  const bar = new cliProgress.SingleBar(
    { format: 'items [{bar}] {value}/{total} {file}', hideCursor: true, noTTYOutput: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  if (enabled && total > 0) bar.start(total, 0, { file: '' });
  return {
    /** `done` items handled so far; `file` the one being worked on. */
    update(done: number, file: string) {
      if (enabled && total > 0) bar.update(done, { file });
    },
    stop() {
      if (enabled && total > 0) bar.stop();
    },
  };
}
