import { createHash } from 'node:crypto';
import type { OpenApiDocument } from './openapi-document.js';
import type { JsonSchema } from './openapi-schemas.js';

/**
 * GET /docs: the OpenAPI document as one self-contained HTML page for people, rendered on the
 * server from the document itself: every route with its parameters, bodies, answers and error
 * codes, the events (SSE and socket.io), every schema as a table of fields, and every error
 * code. No script, no CDN, no asset: it works offline and under a strict Content-Security-Policy
 * (its one inline style is allowed by its hash, DOCS_PAGE_CSP).
 */

const esc = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Inline `code` spans of the descriptions. */
const prose = (text: unknown) => esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
const refName = (ref: string) => ref.split('/').at(-1)!;
const schemaLink = (name: string) => `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
const anchor = (method: string, path: string) => `op-${method}-${path.replace(/[^a-zA-Z0-9]+/g, '-')}`;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 1.5rem;color:#1d1d1f}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}h3{margin:1.8rem 0 .3rem}
code{background:#f3f3f5;padding:0 .25em;border-radius:3px;font-size:.92em}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f7f7f9}
.m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}.get{color:#0a6}.post{color:#06c}.delete{color:#c30}
section{border-left:3px solid #eee;padding-left:1rem;margin-bottom:1.5rem}.muted{color:#666}ul.toc{columns:2;list-style:none;padding:0}`;

/** The page's Content-Security-Policy: nothing but its own inline style. */
export const DOCS_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** A short type: `string`, `"a" | "b"`, `integer (1..100)`, `Foo[]`, a link to a named schema. */
export function typeOf(schema: JsonSchema | boolean | undefined): string {
  if (schema === undefined || schema === true) return 'any';
  if (schema === false) return 'never';
  if (typeof schema.$ref === 'string') return schemaLink(refName(schema.$ref));
  if (schema.const !== undefined) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => `<code>${esc(JSON.stringify(value))}</code>`).join(' | ');
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) return union.map(typeOf).join(' | ');
  if (schema.type === 'array') return `${typeOf(schema.items as JsonSchema)}[]`;
  if (schema.type === 'object' && !schema.properties && schema.additionalProperties && schema.additionalProperties !== true) {
    return `{ [key]: ${typeOf(schema.additionalProperties as JsonSchema)} }`;
  }
  return esc(schema.type ?? 'any');
}

const BIG = 2 ** 53 - 1;
function notes(own: JsonSchema): string {
  // a piped check's bounds sit in allOf (openapi-schemas.ts): read them with the schema's own
  const schema = ((own.allOf as JsonSchema[] | undefined) ?? []).filter((part) => !part.if).reduce((all, part) => ({ ...all, ...part }), own);
  const out: string[] = [];
  if (schema.description) out.push(prose(schema.description));
  const min = schema.minimum ?? schema.exclusiveMinimum ?? schema.minLength ?? schema.minItems;
  const max = [schema.maximum, schema.maxLength, schema.maxItems].find((value) => value !== undefined && value !== BIG);
  if (min !== undefined || max !== undefined) out.push(`${schema.exclusiveMinimum !== undefined ? '&gt; ' : ''}${esc(min ?? '')}..${esc(max ?? '')}`);
  if (schema.default !== undefined) out.push(`default <code>${esc(JSON.stringify(schema.default))}</code>`);
  if (schema.pattern) out.push(`pattern <code>${esc(schema.pattern)}</code>`);
  return out.join('; ');
}

/** Rows `field`, `inputs[].modality`, ... of an object schema, nested objects and arrays of objects flattened. */
function fieldRows(schema: JsonSchema, prefix = ''): string[] {
  const rows: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [name, field] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    rows.push(`<tr><td><code>${esc(path)}</code></td><td>${typeOf(field)}</td><td>${required.has(name) ? 'yes' : ''}</td><td>${notes(field)}</td></tr>`);
    const items = field.type === 'array' ? (field.items as JsonSchema | undefined) : undefined;
    if (field.properties) rows.push(...fieldRows(field, `${path}.`));
    else if (items?.properties) rows.push(...fieldRows(items, `${path}[].`), ...ruleRows(items, `${path}[]`));
  }
  return rows;
}

/** The `if modality = x then ...` rules of a schema, as rows. */
function ruleRows(schema: JsonSchema, path: string): string[] {
  const rules = ((schema.allOf as JsonSchema[] | undefined) ?? []).filter((rule) => rule.if && rule.then);
  if (rules.length === 0) return [];
  const lines = rules.map((rule) => {
    const [[field, condition]] = Object.entries((rule.if as JsonSchema).properties as Record<string, JsonSchema>) as [[string, JsonSchema]];
    return `${esc(field)} <code>${esc(JSON.stringify(condition.const))}</code> takes ${((rule.then as JsonSchema).required as string[]).map((name) => `<code>${esc(name)}</code>`).join(' and ')}`;
  });
  return [`<tr><td><code>${esc(path)}</code></td><td colspan="3">${lines.join('<br>')}</td></tr>`];
}

function schemaTable(schema: JsonSchema): string {
  if (!schema.properties) return `<p>${typeOf(schema)} ${notes(schema)}</p>`;
  const rows = fieldRows(schema);
  return `<table><tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr>${rows.join('')}</table>`;
}

/** How a security scheme is presented: `Authorization: Bearer`, `X-API-Key`, `?token=`. */
function credential(scheme: JsonSchema): string {
  const how = scheme.type === 'http' ? `Authorization: ${String(scheme.scheme).replace(/^./, (c) => c.toUpperCase())}` : scheme.in === 'query' ? `?${String(scheme.name)}=` : String(scheme.name);
  return `<code>${esc(how)}</code> (${prose(scheme.description)})`;
}

function operationSection(path: string, method: string, op: JsonSchema, errorCodes: Map<string, JsonSchema>, schemes: Record<string, JsonSchema>): string {
  const out = [`<section id="${anchor(method, path)}"><h3><span class="m ${esc(method)}">${esc(method)}</span> <code>${esc(path)}</code></h3><p>${prose(op.summary)}</p>`];
  if (op.description) out.push(`<p class="muted">${prose(op.description)}</p>`);
  const security = (op.security as JsonSchema[]).map((entry) => {
    const name = Object.keys(entry)[0];
    return name === undefined ? 'nothing while A2I_API_KEYS is unset' : credential(schemes[name]!);
  });
  out.push(`<p><b>Access:</b> ${security.length === 0 ? 'anyone' : security.join(', or ')}</p>`);
  const parameters = (op.parameters as JsonSchema[] | undefined) ?? [];
  if (parameters.length > 0) {
    const row = (p: JsonSchema) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeOf(p.schema as JsonSchema)}</td><td>${[p.description ? prose(p.description) : '', notes(p.schema as JsonSchema)].filter(Boolean).join('; ')}</td></tr>`;
    out.push(`<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>${parameters.map(row).join('')}</table>`);
  }
  const body = op.requestBody as JsonSchema | undefined;
  if (body) {
    const content = body.content as Record<string, JsonSchema>;
    out.push(`<p><b>Body:</b> ${typeOf(content['application/json']!.schema as JsonSchema)} as ${Object.keys(content).map((type) => `<code>${esc(type)}</code>`).join(' or ')}. ${prose(body.description)}</p>`);
  }
  const rows = Object.entries(op.responses as Record<string, JsonSchema>).map(([status, response]) => {
    const content = (response.content ?? {}) as Record<string, JsonSchema>;
    const codes = response['x-error-codes'] as string[] | undefined;
    const what = codes
      ? codes.map((code) => `<a href="#code-${esc(code)}" title="${esc(errorCodes.get(code)?.description ?? '')}">${esc(code)}</a>`).join(', ')
      : `${prose(response.description)}${Object.entries(content).map(([type, media]) => ` <code>${esc(type)}</code> ${media.schema && (media.schema as JsonSchema).$ref ? typeOf(media.schema as JsonSchema) : ''}`).join('')}`;
    return `<tr><td>${esc(status)}</td><td>${what}</td></tr>`;
  });
  out.push(`<table><tr><th>status</th><th>answer</th></tr>${rows.join('')}</table>`);
  const events = op['x-events'] as Record<string, JsonSchema> | undefined;
  if (events) out.push(`<p><b>Events:</b> ${Object.entries(events).map(([name, schema]) => `<code>${esc(name)}</code> (${typeOf(schema)})`).join(', ')}</p>`);
  out.push('</section>');
  return out.join('\n');
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const info = doc.info as JsonSchema;
  const components = doc.components as { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
  const codes = doc['x-error-codes'] as JsonSchema[];
  const errorCodes = new Map(codes.map((entry) => [String(entry.code), entry]));
  const socket = doc['x-socketio'] as JsonSchema;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const tags = (doc.tags as JsonSchema[]).map((tag) => String(tag.name));

  const toc = tags.map((tag) => {
    const items = operations.filter(({ op }) => (op.tags as string[]).includes(tag));
    return `<h3>${esc(tag)}</h3><ul class="toc">${items.map(({ path, method, op }) => `<li><a href="#${anchor(method, path)}"><span class="m ${esc(method)}">${esc(method)}</span> ${esc(path)}</a> <span class="muted">${prose(op.summary)}</span></li>`).join('')}</ul>`;
  });
  const sections = tags.map((tag) => `<h2>${esc(tag)}</h2>${operations.filter(({ op }) => (op.tags as string[]).includes(tag)).map(({ path, method, op }) => operationSection(path, method, op, errorCodes, components.securitySchemes)).join('\n')}`);
  const socketEvents = (direction: string) =>
    Object.entries(socket[direction] as Record<string, JsonSchema>)
      .map(([name, value]) => `<tr><td><code>${esc(name)}</code></td><td>${value.$ref ? typeOf(value) : `${typeOf(value.request as JsonSchema)}, acknowledged with ${typeOf(value.ack as JsonSchema)}`}</td></tr>`)
      .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(info.title)} ${esc(info.version)}: API</title><style>${STYLE}</style></head>
<body>
<h1>${esc(info.title)} <span class="muted">${esc(info.version)}</span></h1>
<p>${prose(info.description).replace('/docs.', '<a href="/docs">/docs</a>.')}</p>
<p>The same as OpenAPI ${esc(doc.openapi)}: <a href="/openapi.json">/openapi.json</a> (for code generators and API tools).</p>
<h2>Routes</h2>${toc.join('\n')}
<p><a href="#socketio">socket.io events</a> · <a href="#webhooks">webhooks</a> · <a href="#schemas">schemas</a> · <a href="#codes">error codes</a></p>
${sections.join('\n')}
<h2 id="socketio">socket.io</h2><p>Path <code>${esc(socket.path)}</code>. ${prose(socket.description)}</p>
<p><b>Handshake <code>auth</code>:</b> ${typeOf(socket.handshakeAuth as JsonSchema)}. Refused connections carry one of: ${(socket.connectErrorCodes as string[]).map((code) => `<a href="#code-${esc(code)}">${esc(code)}</a>`).join(', ')}.</p>
<table><tr><th>server to client</th><th>payload</th></tr>${socketEvents('serverToClient')}</table>
<table><tr><th>client to server</th><th>payload</th></tr>${socketEvents('clientToServer')}</table>
${webhooksSection(doc)}
<h2 id="schemas">Schemas</h2>
${Object.entries(components.schemas)
  .map(([name, schema]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${schemaTable(schema)}${ruleRows(schema, '').join('') ? `<table>${ruleRows(schema, '(this object)').join('')}</table>` : ''}</section>`)
  .join('\n')}
<h2 id="codes">Error codes</h2>
<p>Every error answer is <code>{ "error": { "code", "message" } }</code>. An <i>input</i> fault's message is written for the client; a <i>server</i> fault's is generic (the details are in the server's log).</p>
<table><tr><th>code</th><th>HTTP</th><th>fault</th><th>meaning</th></tr>
${codes.map((entry) => `<tr id="code-${esc(entry.code)}"><td><code>${esc(entry.code)}</code></td><td>${esc(entry.status)}</td><td>${esc(entry.fault)}</td><td>${prose(entry.description)}</td></tr>`).join('\n')}
</table>
</body></html>
`;
}

/** OpenAPI 3.1 `webhooks`: what a generation's `webhook.url` receives. */
function webhooksSection(doc: OpenApiDocument): string {
  const hooks = Object.values((doc.webhooks ?? {}) as Record<string, { post: JsonSchema }>);
  return `<h2 id="webhooks">Webhooks</h2>${hooks
    .map(({ post }) => {
      const body = ((post.requestBody as JsonSchema).content as Record<string, JsonSchema>)['application/json']!.schema as JsonSchema;
      const parts = (body.allOf as JsonSchema[] | undefined) ?? [body];
      const headers = (post.parameters as JsonSchema[]).map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${prose(p.description)}</td></tr>`).join('');
      return `<p>${prose(post.summary)}. Body: ${parts.map((part) => (part.$ref ? typeOf(part) : Object.entries(part.properties as Record<string, JsonSchema>).map(([name, field]) => `<code>${esc(name)}</code>: ${typeOf(field)}`).join(', '))).join(' + ')}.</p><table><tr><th>header</th><th>meaning</th></tr>${headers}</table>`;
    })
    .join('')}`;
}
