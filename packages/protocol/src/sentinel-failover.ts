import { Redis, SentinelConnector, type SentinelAddress, type SentinelConnectionOptions } from 'ioredis';

type ErrorEmitter = Parameters<SentinelConnector['connect']>[0];
type NetStream = Awaited<ReturnType<SentinelConnector['connect']>>;

/**
 * Sentinel failover detection without ioredis's `failoverDetector` race.
 *
 * ioredis 6's own detector (`failoverDetector: true`) reacts to the sentinels' +switch-master
 * by calling its connector's disconnect(), which also marks the connector as not connecting.
 * If the client is at that moment asking a sentinel for the master (it is reconnecting after the
 * master crashed, which is exactly when +switch-master comes), the connector's connect() throws
 * "Connection is closed." and the client goes to status `end` for good: it never reconnects
 * (a clean-clone CI run hung on it; `test/faults/sentinel-failover-race.test.ts` shows it with
 * ioredis's detector and not with this one; ioredis issue #1683 reports the same symptom).
 *
 * Here the connection is cut the ordinary way instead: on +switch-master every connection of
 * the process to that master whose socket is not already on the new master is destroyed, and
 * ioredis's usual close -> reconnect path asks the sentinels again. A connection in the middle
 * of connecting is not touched (it asks the sentinels anyway). One subscription per sentinel is
 * shared by every connection of the process that watches the same master (BullMQ's duplicates
 * too: they are built from the same options, so they get this connector), not one set each.
 */
export class FailoverAwareSentinelConnector extends SentinelConnector {
  private release: (() => void) | null = null;

  /** ioredis builds its Connector from the client's whole options (typed `unknown` there). */
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override async connect(eventEmitter: ErrorEmitter): Promise<NetStream> {
    const stream = await super.connect(eventEmitter);
    this.release ??= watchSwitchMaster(this.options, (to) => this.leaveOldMaster(to));
    return stream;
  }

  override disconnect(): void {
    this.release?.();
    this.release = null;
    super.disconnect();
  }

  private leaveOldMaster(to: { host: string; port: number }): void {
    const stream = this.stream as NetStream | undefined;
    if (!stream || stream.destroyed || stream.connecting) return;
    if (stream.remoteAddress === to.host && stream.remotePort === to.port) return;
    stream.destroy();
  }
}

type SwitchListener = (to: { host: string; port: number }) => void;

interface SwitchMasterWatch {
  listeners: Set<SwitchListener>;
  subscribers: Redis[];
}

const SWITCH_MASTER = '+switch-master';
const watches = new Map<string, SwitchMasterWatch>();

/**
 * Calls `listener` with the new master's address whenever a sentinel of `options` says the
 * master `options.name` moved; returns the function that stops it (the subscriptions close with
 * the last listener). A subscription whose sentinel is lost comes back by
 * `options.sentinelReconnectStrategy` (the first client's, for all that share it).
 */
export function watchSwitchMaster(options: SentinelConnectionOptions, listener: SwitchListener): () => void {
  const sentinels = (options.sentinels ?? []).map((sentinel: Partial<SentinelAddress>) => ({ host: sentinel.host ?? 'localhost', port: sentinel.port ?? 26379 }));
  const key = `${options.name}@${sentinels.map((sentinel) => `${sentinel.host}:${sentinel.port}`).join(',')}`;
  let watch = watches.get(key);
  if (!watch) {
    const listeners = new Set<SwitchListener>();
    const subscribers = sentinels.map((sentinel) => {
      const client = new Redis({
        host: sentinel.host,
        port: sentinel.port,
        username: options.sentinelUsername ?? undefined,
        password: options.sentinelPassword ?? undefined,
        ...(options.sentinelTLS ? { tls: options.sentinelTLS } : {}),
        connectionName: 'a2i-sentinel-watch',
        enableReadyCheck: false,
        // ioredis's own option for the connections that watch for a failover
        retryStrategy: options.sentinelReconnectStrategy,
        maxRetriesPerRequest: null,
      });
      client.on('error', () => undefined);
      client.subscribe(SWITCH_MASTER).catch(() => undefined);
      client.on('message', (channel: string, message: string) => {
        // "<master name> <old ip> <old port> <new ip> <new port>" (the Redis Sentinel docs)
        const [name, , , host, port] = message.split(' ');
        if (channel !== SWITCH_MASTER || name !== options.name || host === undefined || port === undefined) return;
        for (const each of listeners) each({ host, port: Number(port) });
      });
      return client;
    });
    watch = { listeners, subscribers };
    watches.set(key, watch);
  }
  const current = watch;
  current.listeners.add(listener);
  return () => {
    current.listeners.delete(listener);
    if (current.listeners.size > 0 || watches.get(key) !== current) return;
    watches.delete(key);
    for (const subscriber of current.subscribers) subscriber.disconnect();
  };
}
