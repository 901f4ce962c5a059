// Pure wording of a job's echoed request (GenerationStatus.request, request-echo.ts) for the
// gallery: what went in, and the settings it ran with.

const MODALITY_NAMES = { audio: 'sound', image: 'image', text: 'text', item: 'stored item', embedding: 'vector' };

export function describeInputs(echo) {
  return echo.inputs
    .map((input) => {
      const name = MODALITY_NAMES[input.modality] ?? input.modality;
      const what = input.text !== undefined ? `${name} “${input.text}”` : input.id !== undefined ? `${name} ${input.id}` : input.file ? `${name} (${input.file.format})` : name;
      return `${what} × ${input.weight.toFixed(2)}`;
    })
    .join(' + ');
}

export function describeSettings(echo) {
  const parts = [`${echo.steps} steps`, `guidance ${echo.guidance}`, `seed ${echo.seed}`, `prior ${echo.prior}`];
  if (echo.scheduler) parts.push(echo.scheduler);
  parts.push(`noise ${echo.noiseLevel}`, echo.format.toUpperCase());
  if (echo.prompt) parts.push(`prompt “${echo.prompt}”`);
  return parts.join(' · ');
}
