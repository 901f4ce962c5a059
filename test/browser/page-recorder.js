// Injected into the page by web-page.test.ts (page.addInitScript) before the app runs: records
// what a person would have seen, however fast the job runs — every value the progress bar
// took, and every live preview the browser decoded. Read back as `window.__record`.
window.__record = { progress: [], previewsLoaded: [] };
document.addEventListener('DOMContentLoaded', () => {
  const record = window.__record;
  // every job's card (newest first in #job-list): its <progress> values and preview images
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === 'attributes' && mutation.target instanceof HTMLProgressElement) record.progress.push(mutation.target.value);
      for (const node of mutation.addedNodes) {
        if (node instanceof HTMLImageElement && node.classList.contains('preview')) {
          node.addEventListener('load', () => record.previewsLoaded.push({ width: node.naturalWidth, height: node.naturalHeight }));
        }
      }
    }
  }).observe(document.querySelector('#job-list'), { childList: true, subtree: true, attributes: true, attributeFilter: ['value'] });
});
