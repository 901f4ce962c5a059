/**
 * The video parts this worker is running, by video id, so that a cancel of the video (its id on
 * the cancel channel) reaches every part of it held here, not only a job of that id.
 */
export class RunningVideoParts {
  private readonly byVideo = new Map<string, Set<AbortController>>();

  /** Registers a running part of `videoId`; call the returned function when it ends. */
  add(videoId: string, controller: AbortController): () => void {
    let parts = this.byVideo.get(videoId);
    if (!parts) this.byVideo.set(videoId, (parts = new Set()));
    parts.add(controller);
    return () => {
      parts.delete(controller);
      if (parts.size === 0) this.byVideo.delete(videoId);
    };
  }

  /** Aborts every running part of `videoId` with `reason`; how many there were. */
  abort(videoId: string, reason: string): number {
    const parts = this.byVideo.get(videoId);
    if (!parts) return 0;
    for (const controller of parts) controller.abort(reason);
    return parts.size;
  }
}
