import { client } from './api-client.js';
import { JobView } from './job-view.js';
import { elements } from './page-elements.js';
// The page's jobs, each in its own card (JobView), newest first: each followed over socket.io
// on its own, each with its own Cancel. Starting another job never stops following one that
// runs, so no job is left without a card that shows how it ends.

export class JobList {
  /** `onSucceeded(sources, job)`: a job's images are shown (`job`: { id, token }). */
  constructor({ onSucceeded }) {
    Object.assign(this, elements({ list: '#job-list', template: '#job-template', announcer: '#job-announcer', idle: '#job-idle' }));
    this.onSucceeded = onSucceeded;
    this.count = 0;
  }

  /** A new card, first in the list, for a request about to be sent. */
  add(usesPrior, output = 'image') {
    this.count += 1;
    const view = new JobView({
      list: this.list,
      template: this.template,
      announcer: this.announcer,
      number: this.count,
      onCancel: () => {
        // the job's events say when it is canceled (job:canceled); a cancel that comes too late changes nothing
        if (view.job) client.cancel(view.job.id, view.job.token).catch(() => undefined);
      },
    });
    view.reset(usesPrior, output);
    this.idle.hidden = true;
    return view;
  }

  /** Takes away the card of a request the server did not take (its problem is shown in the form). */
  discard(view) {
    view.root.remove();
    this.idle.hidden = this.list.children.length > 0;
  }

  /** Follows the job `view` shows until it ends. */
  follow(view, { id, token }) {
    view.job = { id, token };
    view.created(id);
    view.queued(null);
    const show = {
      'job:queued': ({ position }) => view.queued(position),
      'job:started': ({ attempt }) => view.started(attempt),
      'job:progress': (progress) => view.progressed(progress),
      'job:preview': (preview) => view.preview(preview),
      'job:succeeded': ({ images, video }) => (video ? view.succeededVideo(video, token) : this.onSucceeded(view.succeeded(images, token), view.job)),
      'job:failed': ({ code, message }) => view.failed(code, message),
      'job:canceled': () => view.canceled(),
    };
    // inlineImages: job:succeeded brings the images' bytes, so showing them takes no more requests
    client
      .follow({ id, token }, { inlineImages: true, onEvent: ({ type, payload }) => show[type]?.(payload) })
      .catch((error) => view.failed(error.code ?? 'DISCONNECTED', error.message));
  }
}
