import type { RedisClient } from './redis-connections.js';
import type { JobEventType } from './job-events.js';
import { parseJobStateHash, toGenerationStatus } from './job-state.js';
import type { RedisLayout } from './redis-layout.js';
import { WEBHOOK_LOGS_THROTTLE_MS, webhookRequestSchema, type WebhookDelivery, type WebhookEvent, type WebhookRequest } from './webhook-events.js';

/** The part of a BullMQ Queue<WebhookDelivery> the notifier uses (this package does not depend on BullMQ). */
export interface WebhookQueue {
  add(
    name: string,
    data: WebhookDelivery,
    options: {
      jobId: string;
      attempts: number;
      backoff: { type: 'exponential'; delay: number };
      removeOnComplete: { age: number };
      removeOnFail: { age: number };
      deduplication?: { id: string; ttl: number };
    },
  ): Promise<unknown>;
}

export interface WebhookNotifierOptions {
  /** Attempts per delivery (A2I_WEBHOOK_ATTEMPTS) and the first retry's delay, doubled at each retry (A2I_WEBHOOK_BACKOFF_MS). */
  attempts: number;
  backoffMs: number;
  /**
   * How long a delivery's queue entry is kept once done, in seconds: while it is there, a
   * second enqueue of the same event is a no-op (at least the job's own lifetime).
   */
  keepSeconds: number;
  onError(error: unknown, jobId: string): void;
}

/**
 * Turns a job's recorded state changes into webhook deliveries on the `webhooks` queue. It is
 * JobStateStore's `recorder`, in every process that records changes (the api: cancel; the
 * workers: start, progress, outcome), so each event is enqueued by the one writer whose change
 * was applied, once; the delivery's job id (webhookDeliveryId) makes a repeat a no-op. The
 * job's `webhook` field (set at creation) says where and which events.
 */
export class WebhookNotifier {
  constructor(
    private readonly redis: RedisClient,
    private readonly layout: RedisLayout,
    private readonly queue: WebhookQueue,
    private readonly options: WebhookNotifierOptions,
  ) {}

  /** With the configuration's attempts and backoff; entries kept as long as a job may live; errors logged. */
  static fromConfig(
    redis: RedisClient,
    layout: RedisLayout,
    queue: WebhookQueue,
    config: { webhooks: { attempts: number; backoffMs: number }; jobStateTtlSeconds: number; resultTtlSeconds: number },
    logger: { error(fields: object, message: string): void },
  ): WebhookNotifier {
    return new WebhookNotifier(redis, layout, queue, {
      attempts: config.webhooks.attempts,
      backoffMs: config.webhooks.backoffMs,
      keepSeconds: Math.max(config.jobStateTtlSeconds, config.resultTtlSeconds),
      onError: (error, jobId) => logger.error({ err: error, jobId }, 'webhook delivery not queued'),
    });
  }

  /** Never throws: a delivery that cannot be queued is reported to onError, the state change stands. */
  async recorded(id: string, type: JobEventType, seq: number): Promise<void> {
    const raised = webhookEventsOf(type);
    if (raised.length === 0) return;
    try {
      const key = this.layout.jobKey(id);
      const stored = await this.redis.hget(key, 'webhook');
      if (stored === null) return;
      const webhook = webhookRequestSchema.parse(JSON.parse(stored));
      const wanted = raised.filter((event) => webhook.events.includes(event));
      if (wanted.length === 0) return;
      const state = parseJobStateHash(await this.redis.hgetall(key));
      if (!state) return;
      const status = toGenerationStatus(state, null);
      for (const event of wanted) {
        if (event === 'output' && (state.images?.length ?? 0) === 0) continue;
        const deliveryId = webhookDeliveryId(id, event, seq);
        const delivery: WebhookDelivery = { jobId: id, event, url: webhook.url, messageId: `msg_${deliveryId}`, body: JSON.stringify({ ...status, type: event }) };
        await this.queue.add('deliver', delivery, {
          jobId: deliveryId,
          attempts: this.options.attempts,
          backoff: { type: 'exponential', delay: this.options.backoffMs },
          removeOnComplete: { age: this.options.keepSeconds },
          removeOnFail: { age: this.options.keepSeconds },
          ...(event === 'logs' ? { deduplication: { id: `${id}.logs`, ttl: WEBHOOK_LOGS_THROTTLE_MS } } : {}),
        });
      }
    } catch (error) {
      this.options.onError(error, id);
    }
  }
}

// ---------------------------------------------------------------- which webhook events a job event raises, and their ids

/** The webhook events a recorded job event raises (before the request's filter). */
export function webhookEventsOf(type: JobEventType): readonly WebhookEvent[] {
  switch (type) {
    case 'job:started':
      return ['start'];
    case 'job:progress':
      return ['logs'];
    case 'job:succeeded':
      return ['output', 'completed'];
    case 'job:failed':
    case 'job:canceled':
      return ['completed'];
    default:
      return [];
  }
}

/**
 * The id of one delivery: also the BullMQ job id on the `webhooks` queue (so a second enqueue
 * of the same event is a no-op) and, prefixed `msg_`, the message's `webhook-id` (the same on
 * every retry). `logs` happen many times: their id carries the state's seq.
 */
export function webhookDeliveryId(jobId: string, event: WebhookEvent, seq: number): string {
  return event === 'logs' ? `${jobId}.logs.${seq}` : `${jobId}.${event}`;
}
