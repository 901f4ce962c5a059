// Injected into the page by web-page.test.ts (page.addInitScript) before the app runs: records
// what a person would have seen, however fast the job runs — every value the progress bar
// took, and every live preview the browser decoded. Read back as `window.__record`.
window.__record = { progress: [], previewsLoaded: [] };
document.addEventListener('DOMContentLoaded', () => {
  const record = window.__record;
  const bar = document.querySelector('#progress');
  new MutationObserver(() => record.progress.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (node instanceof HTMLImageElement) {
          node.addEventListener('load', () => record.previewsLoaded.push({ width: node.naturalWidth, height: node.naturalHeight }));
        }
      }
    }
  }).observe(document.querySelector('#previews'), { childList: true });
});
