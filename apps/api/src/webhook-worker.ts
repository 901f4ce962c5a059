import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '@a2i/protocol';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { isCodedError } from '@a2i/protocol/errors';
import type { RedisLayout, WebhookConfig, WebhookDelivery } from '@a2i/protocol';
import { postWebhook, signedHeaders } from './webhook-delivery.js';
import { WebhookTargets } from './webhook-target.js';

/** Deliveries one api instance sends at once (each mostly waits on the network). */
const WEBHOOK_CONCURRENCY = 8;

/** What one attempt did: `sent` (a 2xx), else why not; `retry` false: no later attempt can do better. */
export type AttemptOutcome = { sent: true; status: number } | { sent: false; retry: boolean; reason: string };

/**
 * One attempt of one delivery: check the URL again (DNS may have changed since the POST),
 * sign for this moment, POST to the checked address. 2xx: sent. Not allowed any more, or a
 * redirect (never followed): no retry. Anything else (another status, no answer in time, a
 * connection error): retried while attempts remain.
 */
export async function attemptDelivery(delivery: WebhookDelivery, targets: WebhookTargets, signer: Webhook, timeoutMs: number, now = new Date()): Promise<AttemptOutcome> {
  let target;
  try {
    target = await targets.check(delivery.url);
  } catch (error) {
    return { sent: false, retry: false, reason: isCodedError(error) ? `${error.code}: ${error.message}` : String(error) };
  }
  const headers = signedHeaders(signer, delivery.messageId, delivery.body, now);
  let status: number;
  try {
    status = await postWebhook(target, delivery.body, headers, timeoutMs);
  } catch (error) {
    return { sent: false, retry: true, reason: `no answer: ${(error as Error).message}` };
  }
  if (status >= 200 && status < 300) return { sent: true, status };
  if (status >= 300 && status < 400) return { sent: false, retry: false, reason: `answered ${status} (redirects are not followed)` };
  return { sent: false, retry: true, reason: `answered ${status}` };
}

/**
 * The api instances send the webhooks: they hold no models, so a slow receiver never waits on
 * (or holds up) a generation, and every instance takes deliveries from the one `webhooks`
 * queue. Retries are BullMQ's (A2I_WEBHOOK_ATTEMPTS, exponential backoff from A2I_WEBHOOK_BACKOFF_MS).
 */
export function startWebhookWorker(options: { config: WebhookConfig & { secret: string }; layout: RedisLayout; connection: RedisClient; logger: Logger; targets?: WebhookTargets }): Worker<WebhookDelivery> {
  const { config, layout, connection, logger } = options;
  const targets = options.targets ?? new WebhookTargets(config);
  const signer = new Webhook(config.secret);
  const worker = new Worker<WebhookDelivery>(
    layout.webhookQueue,
    async (job: Job<WebhookDelivery>) => {
      const outcome = await attemptDelivery(job.data, targets, signer, config.timeoutMs);
      if (outcome.sent) return { status: outcome.status };
      throw outcome.retry ? new Error(outcome.reason) : new UnrecoverableError(outcome.reason);
    },
    { connection, prefix: layout.prefix, concurrency: WEBHOOK_CONCURRENCY },
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const fields = { jobId: job.data.jobId, event: job.data.event, webhookId: job.data.messageId, attempt: job.attemptsMade, reason: error.message };
    if (final) logger.warn(fields, 'webhook not delivered: given up');
    else logger.info(fields, 'webhook attempt failed: will retry');
  });
  return worker;
}
