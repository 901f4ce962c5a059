import { fileURLToPath } from 'node:url';

/** Folder of the static page the api serves at `/`. */
export const WEB_ROOT = fileURLToPath(new URL('../public/', import.meta.url));
