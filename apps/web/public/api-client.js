// The page's one client of the api: @a2i/client, which the api serves bundled at /client.js
// (fetch for the routes, socket.io for a job's events).
import { A2iClient, A2iError } from '/client.js';

export { A2iError };

export const client = new A2iClient();
