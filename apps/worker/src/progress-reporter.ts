import type { PipelineStage, ProgressReport } from '@a2i/protocol';

export interface ProgressUpdate extends ProgressReport {
  /** Estimated milliseconds left for the whole job; null until a step has been timed. */
  etaMs: number | null;
}

/**
 * Turns the pipeline's step reports into the progress events clients see:
 * - throttled: at most one per `intervalMs`, but the first step and the last step of each
 *   stage always pass (so a client always sees a stage begin and end);
 * - monotonic: a report that does not move forward within its stage is dropped;
 * - with an ETA: the current stage's mean step time x the steps left in it, plus the steps of
 *   the stages still to come (`stepsAfter`) at the same rate (a rough guess, said as such).
 */
export class ProgressReporter {
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private last: ProgressReport | null = null;
  private stageStartedAt = 0;
  private currentStage: PipelineStage | null = null;
  private lastReportAt = 0;

  constructor(
    private readonly intervalMs: number,
    /** Steps of the stages after `stage` (e.g. embed -> prior + decode steps). */
    private readonly stepsAfter: (stage: PipelineStage) => number,
    private readonly startedAt: number,
  ) {}

  report(p: ProgressReport, now: number): ProgressUpdate | null {
    if (p.stage !== this.currentStage) {
      // The stage began when the previous one's last report arrived (or when the job started).
      this.stageStartedAt = this.last ? this.lastReportAt : this.startedAt;
      this.currentStage = p.stage;
    } else if (this.last && p.step <= this.last.step) {
      return null;
    }
    this.lastReportAt = now;
    const boundary = !this.last || this.last.stage !== p.stage || p.step === p.steps;
    this.last = p;
    if (!boundary && now - this.lastEmitAt < this.intervalMs) return null;
    this.lastEmitAt = now;
    return { ...p, etaMs: this.eta(p, now) };
  }

  private eta(p: ProgressReport, now: number): number | null {
    if (p.step <= 0) return null;
    const perStep = (now - this.stageStartedAt) / p.step;
    return Math.max(0, Math.round(perStep * (p.steps - p.step + this.stepsAfter(p.stage))));
  }
}
