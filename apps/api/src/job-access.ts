import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { JobState } from '@a2i/protocol';

/** Job ids: 128 random bits, base64url (22 characters). Unguessable, so they can be in URLs. */
export function newJobId(): string {
  return randomBytes(16).toString('base64url');
}

/** The job's access token: 256 random bits, a separate secret from the id. Only its hash is stored. */
export function newJobToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Who is asking: the job token they hold and the hash of their API key, either may be absent. */
export interface Credentials {
  token?: string | undefined;
  apiKeyHash?: string | undefined;
}

/** Token from `X-Job-Token` (or `?token=` for EventSource and <img>); API key from `Authorization: Bearer` or `X-API-Key`. */
export function credentialsOf(req: Request): Credentials {
  const header = req.get('x-job-token');
  const query = typeof req.query.token === 'string' ? req.query.token : undefined;
  const bearer = req.get('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
  const apiKey = req.get('x-api-key') ?? bearer;
  return { token: header ?? query, apiKeyHash: apiKey ? sha256Hex(apiKey) : undefined };
}

/** The token's holder, or the owner's API key, may see the job; nobody else learns it exists. */
export function canAccess(state: Pick<JobState, 'tokenHash' | 'owner'>, credentials: Credentials): boolean {
  if (credentials.token !== undefined) {
    const given = Buffer.from(sha256Hex(credentials.token), 'hex');
    const stored = Buffer.from(state.tokenHash, 'hex');
    if (given.length === stored.length && timingSafeEqual(given, stored)) return true;
  }
  return state.owner !== '' && credentials.apiKeyHash !== undefined && credentials.apiKeyHash === state.owner;
}
