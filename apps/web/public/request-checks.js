// Pure checks of the form's number fields before anything is sent, and the reading of a server
// refusal that names fields, so each message can go next to its field. Bounds: the request
// schema (packages/protocol generation-request.ts) and the pack's limits (GET /v1/pack).

/** `{ field: { label, min, max, integer, optional, fromPack } }`: max from the pack's limits where it says. */
export function numberRules(pack) {
  const limits = pack?.limits;
  return {
    steps: { label: 'Steps', min: 1, max: limits?.maxSteps, integer: true, fromPack: true },
    guidance: { label: 'Guidance', min: 0, max: 100, integer: false },
    numImages: { label: 'Images', min: 1, max: limits?.maxImages, integer: true, fromPack: true },
    seed: { label: 'Seed', min: 0, max: 0xffff_ffff, integer: true, optional: true },
    noiseLevel: { label: 'Noise level', min: 0, max: limits?.maxNoiseLevel, integer: true, optional: true, fromPack: true },
  };
}

/** What is wrong with one field's text as a number under `rule`, or null. */
export function numberProblem(text, rule) {
  if (text.trim() === '') return rule.optional ? null : `${rule.label} needs a number`;
  const value = Number(text);
  if (!Number.isFinite(value)) return `${rule.label} needs a number`;
  if (rule.integer && !Number.isInteger(value)) return `${rule.label} needs a whole number`;
  const limitNote = rule.fromPack ? ' (this model pack’s limit)' : '';
  if (rule.max !== undefined && (value < rule.min || value > rule.max)) return `${rule.label} must be from ${rule.min} to ${rule.max}${limitNote}`;
  if (value < rule.min) return `${rule.label} must be at least ${rule.min}`;
  return null;
}

/** `{ field: message }` for every field of `values` ({ steps: '25', ... }) that fails its rule. */
export function numberProblems(values, rules) {
  const problems = {};
  for (const [field, rule] of Object.entries(rules)) {
    if (!(field in values)) continue;
    const problem = numberProblem(values[field], rule);
    if (problem) problems[field] = problem;
  }
  return problems;
}

/**
 * The field paths a server refusal names, with their messages: "Invalid request: steps: Too
 * small: expected number to be >=1; seed: ..." (parseOrThrow) or "Expected steps of at most 50
 * but received 60" (a pack limit). `[]` when it names none.
 */
export function fieldsInServerMessage(message) {
  const limit = /^Expected (\w+) of at most (\d+) but received (\S+)/.exec(message);
  if (limit) return [{ path: limit[1], message: `At most ${limit[2]} here (received ${limit[3]})` }];
  const listed = /^Invalid request: (.*?)(?: \(and \d+ more\))?$/s.exec(message);
  if (!listed) return [];
  return listed[1]
    .split('; ')
    .map((part) => /^([\w.]+): (.+)$/s.exec(part))
    .filter(Boolean)
    .map(([, path, text]) => ({ path, message: text }));
}
