import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the instance's gauges read when Prometheus scrapes. */
export interface ApiMetricSources {
  queueDepth: () => Promise<number>;
  workersAlive: () => Promise<number>;
  subscribers: () => number;
}

/** The labelled counters, by the name the code uses: [metric name, help, label]. */
const COUNTERS = {
  generationsSubmitted: ['a2i_generations_submitted_total', 'Generation requests by outcome (accepted, or the error code)', 'outcome'],
  eventsDelivered: ['a2i_job_events_delivered_total', 'Job events delivered to local subscribers, by type', 'type'],
  pubsubMessages: ['a2i_pubsub_messages_received_total', 'Redis pub/sub messages this instance received, by channel (a job it follows, or queue-moved)', 'channel'],
  pubsubBytes: ['a2i_pubsub_bytes_received_total', 'Bytes of Redis pub/sub messages this instance received (payload + channel name), by channel', 'channel'],
} as const;

/** Gauges read at scrape time: [metric name, help, source]. */
const SCRAPED_GAUGES: ReadonlyArray<readonly [string, string, keyof ApiMetricSources]> = [
  ['a2i_queue_depth', 'Generation jobs waiting to start', 'queueDepth'],
  ['a2i_workers_alive', 'Workers with a recent heartbeat', 'workersAlive'],
  ['a2i_event_subscribers', 'Local job event subscribers (socket.io and SSE)', 'subscribers'],
];

type Counters = { [K in keyof typeof COUNTERS]: Counter<(typeof COUNTERS)[K][2]> };

/** Prometheus metrics of one api instance, in its own registry (several apps may share a process in tests). */
export function createApiMetrics(sources: ApiMetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Histogram({
    name: 'a2i_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10],
    registers: [registry],
  });
  const counters = Object.fromEntries(
    Object.entries(COUNTERS).map(([key, [name, help, label]]) => [key, new Counter({ name, help, labelNames: [label], registers: [registry] })]),
  ) as Counters;
  const socketConnections = new Gauge({ name: 'a2i_socket_connections', help: 'Open socket.io connections', registers: [registry] });
  for (const [name, help, source] of SCRAPED_GAUGES) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await sources[source]());
      },
    });
  }
  return { registry, httpRequests, socketConnections, ...counters };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
