import type { ClassifyAnswer } from '@a2i/client';
import type { CollectionView, SearchResultView as SearchHit } from '@a2i/protocol';

/** Plain-text columns, left-aligned, two spaces apart; a header row and a rule under it. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const metadataText = (metadata: Record<string, string | number | boolean>) =>
  Object.entries(metadata)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

/** `a2i search`: best first, as the server ranked them. */
export function searchTable(results: SearchHit[]): string {
  if (results.length === 0) return 'No items matched.';
  return formatTable(
    ['#', 'id', 'score', 'modality', 'metadata'],
    results.map((hit, i) => [String(i + 1), hit.id, hit.score.toFixed(4), hit.modality, metadataText(hit.metadata)]),
  );
}

/** `a2i classify`: most probable first. */
export function classifyTable(answer: ClassifyAnswer): string {
  const labels = [...answer.labels].sort((a, b) => b.probability - a.probability);
  return formatTable(
    ['label', 'probability', 'cosine'],
    labels.map((l) => [l.label, l.probability < 0.0005 ? '<0.1%' : `${(100 * l.probability).toFixed(1)}%`, l.score.toFixed(4)]),
  );
}

/** `a2i index list`. */
export function collectionsTable(collections: CollectionView[]): string {
  if (collections.length === 0) return 'No collections yet (a2i index create NAME).';
  return formatTable(
    ['name', 'items', 'pack', 'created', 'description'],
    collections.map((c) => [c.name, String(c.count), `${c.pack} (${c.dim}-d)`, c.createdAt.slice(0, 19).replace('T', ' '), c.description ?? '']),
  );
}
