import { z } from 'zod';

/**
 * Webhooks of a generation (README "Webhooks"): the request's `webhook` names a URL and the
 * events it wants, with Replicate's names (`webhook_events_filter`):
 *   start      a worker took the job (its first start only)
 *   output     the images are ready (the job succeeded)
 *   logs       progress (at most one per WEBHOOK_LOGS_THROTTLE_MS)
 *   completed  the job ended: succeeded, failed or canceled
 */
export const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Replicate sends `output` and `logs` webhooks at most once per 500 ms; `logs` here likewise. */
export const WEBHOOK_LOGS_THROTTLE_MS = 500;

/**
 * The request's `webhook`. The URL is only a string here: whether it parses, is http(s) and
 * resolves to an allowed address is the api's check (WEBHOOK_INVALID, WEBHOOK_NOT_ALLOWED).
 */
export const webhookRequestSchema = z
  .object({
    url: z.string().min(1).max(2048),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .max(16)
      .default(['completed'])
      .transform((events) => [...new Set(events)]),
  })
  .strict();
export type WebhookRequest = z.infer<typeof webhookRequestSchema>;

/** One delivery, the data of a job on the `webhooks` queue. `body` is sent as is on every attempt. */
export interface WebhookDelivery {
  /** The generation's id. */
  jobId: string;
  event: WebhookEvent;
  url: string;
  /** The `webhook-id` header. */
  messageId: string;
  /** JSON: the job's status (as GET /v1/generations/:id answers it) when the event happened, plus `type`. */
  body: string;
}
