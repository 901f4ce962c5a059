import type express from 'express';
import { DOCS_PAGE_CSP, renderDocsPage } from './docs-page.js';
import { buildOpenApiDocument } from './openapi-document.js';

/** The document and the page, built once per process (they depend on the code only, not on the configuration). */
let built: { json: string; html: string } | undefined;
function apiDocs(): { json: string; html: string } {
  if (!built) {
    const doc = buildOpenApiDocument();
    built = { json: JSON.stringify(doc), html: renderDocsPage(doc) };
  }
  return built;
}

/** GET /openapi.json (OpenAPI 3.1) and GET /docs (the same, as a page for people). */
export function mountApiDocs(app: express.Express): void {
  const docs = apiDocs();
  app.get('/openapi.json', (_req, res) => {
    res.set('cache-control', 'no-cache').type('application/json').send(docs.json);
  });
  app.get('/docs', (_req, res) => {
    // a page with no script and one inline style: a stricter policy than the app's (docs-page.ts)
    res.set('content-security-policy', DOCS_PAGE_CSP).set('cache-control', 'no-cache').type('html').send(docs.html);
  });
}
