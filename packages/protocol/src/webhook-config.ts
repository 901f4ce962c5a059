import { z } from 'zod';
import { parseAllowEntry, type AllowEntry } from './webhook-allow-list.js';

/**
 * The A2I_WEBHOOK_* variables (server-config.ts lists them in its table):
 *  A2I_WEBHOOK_SECRET      whsec_<base64 of 24 to 64 bytes>, the Standard Webhooks signing secret; unset:
 *                          webhooks are off (a request naming one: 400 WEBHOOKS_DISABLED)
 *  A2I_WEBHOOK_ALLOW       where webhooks may go (webhook-allow-list.ts): `*` (the default: any public
 *                          address), hosts, `*.domain`, addresses and CIDRs; special ranges only when listed
 *  A2I_WEBHOOK_TIMEOUT_MS  one attempt's bound (DNS, connect, answer)
 *  A2I_WEBHOOK_ATTEMPTS    attempts per delivery
 *  A2I_WEBHOOK_BACKOFF_MS  the first retry's delay, doubled at each retry (BullMQ's exponential backoff)
 */

/** Standard Webhooks: the secret is base64 after `whsec_`, and 24 to 64 bytes long. */
const secret = z
  .string()
  .trim()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'whsec_<base64>')
  .refine((text) => {
    const body = text.slice('whsec_'.length);
    const bytes = Buffer.from(body, 'base64');
    return body.length % 4 === 0 && bytes.length >= 24 && bytes.length <= 64;
  }, 'whsec_<base64 of 24 to 64 bytes>');

const allowList = z
  .string()
  .transform((s) => s.split(',').map((item) => item.trim()).filter((item) => item.length > 0))
  .pipe(z.array(z.string().refine((entry) => parseAllowEntry(entry) !== null, 'a comma list of *, host names, *.domains, addresses or CIDRs')).min(1))
  .transform((entries) => entries.map((entry) => parseAllowEntry(entry)!));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const webhookEnvShape = {
  A2I_WEBHOOK_SECRET: secret.optional(),
  A2I_WEBHOOK_ALLOW: allowList.default([{ kind: 'any' }]),
  A2I_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  A2I_WEBHOOK_ATTEMPTS: int(1, 30).default(6),
  // 6 attempts: retries after 30 s, 1, 2, 4 and 8 min (about a quarter of an hour in all)
  A2I_WEBHOOK_BACKOFF_MS: int(10, 3_600_000).default(30_000),
};

export interface WebhookConfig {
  /** undefined: webhooks are off. */
  secret: string | undefined;
  allow: AllowEntry[];
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
}

export function webhookConfigOf(e: {
  A2I_WEBHOOK_SECRET?: string | undefined;
  A2I_WEBHOOK_ALLOW: AllowEntry[];
  A2I_WEBHOOK_TIMEOUT_MS: number;
  A2I_WEBHOOK_ATTEMPTS: number;
  A2I_WEBHOOK_BACKOFF_MS: number;
}): WebhookConfig {
  return { secret: e.A2I_WEBHOOK_SECRET, allow: e.A2I_WEBHOOK_ALLOW, timeoutMs: e.A2I_WEBHOOK_TIMEOUT_MS, attempts: e.A2I_WEBHOOK_ATTEMPTS, backoffMs: e.A2I_WEBHOOK_BACKOFF_MS };
}
