// The jobs this browser made (id + token), kept in localStorage so that the gallery survives a
// reload: without API keys a job's token is the only proof it is yours, and GET /v1/generations
// lists the jobs whose tokens are presented (X-Job-Tokens, at most 100: history-service.ts).
const KEY = 'a2i.heldJobs';
export const MAX_HELD_JOBS = 100;

/** The held jobs, newest first ([] when storage is unavailable or holds something else). */
export function heldJobs() {
  try {
    const held = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(held) ? held.filter((job) => typeof job?.id === 'string' && typeof job?.token === 'string') : [];
  } catch {
    return [];
  }
}

/** Keeps a new job (first), dropping the oldest past MAX_HELD_JOBS. */
export function holdJob({ id, token }) {
  const held = [{ id, token }, ...heldJobs().filter((job) => job.id !== id)].slice(0, MAX_HELD_JOBS);
  try {
    localStorage.setItem(KEY, JSON.stringify(held));
  } catch {
    // storage full or off: the gallery then lasts until the page is closed
  }
}

/** The token of a held job, or undefined. */
export function tokenOf(id) {
  return heldJobs().find((job) => job.id === id)?.token;
}
