import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one api instance, in its own registry (several apps may share a process in tests). */
export function createApiMetrics(sources: { queueDepth: () => Promise<number>; workersAlive: () => Promise<number>; subscribers: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Histogram({
    name: 'a2i_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10],
    registers: [registry],
  });
  const generationsSubmitted = new Counter({
    name: 'a2i_generations_submitted_total',
    help: 'Generation requests by outcome (accepted, or the error code)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const eventsDelivered = new Counter({
    name: 'a2i_job_events_delivered_total',
    help: 'Job events delivered to local subscribers, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const pubsubMessages = new Counter({
    name: 'a2i_pubsub_messages_received_total',
    help: 'Redis pub/sub messages this instance received, by channel (a job it follows, or queue-moved)',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const pubsubBytes = new Counter({
    name: 'a2i_pubsub_bytes_received_total',
    help: 'Bytes of Redis pub/sub messages this instance received (payload + channel name), by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const socketConnections = new Gauge({ name: 'a2i_socket_connections', help: 'Open socket.io connections', registers: [registry] });
  new Gauge({
    name: 'a2i_queue_depth',
    help: 'Generation jobs waiting to start',
    registers: [registry],
    async collect() {
      this.set(await sources.queueDepth());
    },
  });
  new Gauge({
    name: 'a2i_workers_alive',
    help: 'Workers with a recent heartbeat',
    registers: [registry],
    async collect() {
      this.set(await sources.workersAlive());
    },
  });
  new Gauge({
    name: 'a2i_event_subscribers',
    help: 'Local job event subscribers (socket.io and SSE)',
    registers: [registry],
    collect() {
      this.set(sources.subscribers());
    },
  });
  return { registry, httpRequests, generationsSubmitted, eventsDelivered, pubsubMessages, pubsubBytes, socketConnections };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
