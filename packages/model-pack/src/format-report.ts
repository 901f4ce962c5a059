import type { PackReport } from './check-pack.js';

/** A pack report as text for a person: a verdict line, then one line per problem. */
export function formatPackReport(report: PackReport): string {
  const { checked } = report;
  const what = `${checked.files} file(s)${checked.checksums ? ' with checksums' : ''}, ${checked.sessions} ONNX session(s)`;
  const name = report.manifest ? `"${report.manifest.name}" ` : '';
  if (report.ok) return `OK: model pack ${name}at ${report.dir} (${what} checked)\n`;
  const lines = [`FAILED: model pack ${name}at ${report.dir}: ${report.problems.length} problem(s) (${what} checked)`];
  for (const p of report.problems) lines.push(`  ${p.code}  ${p.where}: ${p.message}`);
  return `${lines.join('\n')}\n`;
}
