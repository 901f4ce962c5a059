// "Use these settings again": a past job's echoed request (request-echo.ts) put back into the
// composer form. Text, weights and every option come back; files do not (the server keeps no
// copy the page may read back), so the person is told to choose them again.

/** Sets the form's fields from `echo`; returns the note to show (what could not be refilled). */
export function applyEcho(form, echo) {
  const set = (name, value) => {
    const field = form.elements.namedItem(name);
    if (!field || value === undefined || value === null) return;
    field.value = String(value);
    field.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const weightOf = (modality) => echo.inputs.find((input) => input.modality === modality)?.weight;
  for (const modality of ['audio', 'image', 'video', 'depth', 'thermal', 'imu']) set(`${modality}Weight`, weightOf(modality));
  const text = echo.inputs.find((input) => input.modality === 'text');
  set('text', text ? text.text : '');
  set('textWeight', text?.weight);
  set('steps', echo.steps);
  set('guidance', echo.guidance);
  set('seed', echo.seed);
  set('numImages', echo.numImages);
  set('noiseLevel', echo.noiseLevel);
  set('prior', echo.prior);
  set('scheduler', echo.scheduler ?? '');
  set('format', echo.format);
  set('prompt', echo.prompt);
  const files = echo.inputs.filter((input) => input.file).map((input) => (input.modality === 'audio' ? 'the sound' : `the ${input.modality}`));
  const items = echo.inputs.filter((input) => input.modality === 'item').map((input) => input.id);
  const notes = ['Settings filled in (same seed: the same picture again).'];
  if (files.length > 0) notes.push(`Files are not kept: choose ${files.join(' and ')} again.`);
  if (items.length > 0) notes.push(`Stored items (${items.join(', ')}): pick them again in Search.`);
  return notes.join(' ');
}
