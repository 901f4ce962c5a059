import type { IncomingMessage } from 'node:http';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { ERROR_CODES, errorBody } from '@a2i/protocol';
import { isCodedError } from '@a2i/protocol/errors';
import { ApiError } from './api-error.js';
import { addressKey, clientAddress, type RateLimits, type TrustFunction } from './rate-limits.js';
import { sha256Hex } from './job-access.js';
import type { OriginPolicy } from './browser-policy.js';

/** How long an engine.io connection may stay without an admitted socket.io connection (socket.io's default: 45 s). */
const CONNECT_TIMEOUT_MS = 10_000;

export interface SocketCaps {
  /** Open socket.io connections per address, per api instance (A2I_SOCKETS_PER_ADDRESS). */
  perAddress: number;
  /** Open socket.io connections per api instance (A2I_SOCKETS_TOTAL). */
  total: number;
}

/**
 * Who may open a socket.io connection, decided at the handshake, before any auth or Redis
 * read of the connection's own:
 *
 * - The namespace middleware (`admit`, the first `io.use`): at most `perAddress` open
 *   connections per address (429 TOO_MANY_CONNECTIONS) and `total` per instance (503
 *   CONNECTIONS_FULL), and A2I_RATE_CONNECTIONS new ones per client across all instances
 *   (429 RATE_LIMITED). Refusals are socket.io connect errors with
 *   `err.data = { code, message, retryAfterSeconds? }`, the form every client here reads.
 * - The transport (`serverOptions().allowRequest`, engine.io's handshake): a foreign origin is
 *   refused (browser-policy.ts), and, as a backstop against clients that open transports and
 *   never join (they are closed after 10 s, socket.io's connectTimeout), an address holding
 *   twice its cap in transports, or an instance holding twice its total, is refused there
 *   (HTTP 403 with the message).
 * The counts are per api instance: each instance protects its own memory and event loop.
 */
export class SocketAdmission {
  private readonly open = new Map<string, number>();
  private openTotal = 0;
  private readonly transports = new Map<string, number>();
  private transportTotal = 0;

  constructor(
    private readonly caps: SocketCaps,
    private readonly trust: TrustFunction,
    private readonly origins: OriginPolicy,
    private readonly rates: RateLimits,
  ) {}

  /** Options to spread into socket.io's Server options. */
  serverOptions(): Partial<ServerOptions> {
    return {
      connectTimeout: CONNECT_TIMEOUT_MS,
      cors: { origin: (origin, callback) => callback(null, this.origins.isListed(origin)) },
      allowRequest: (req, callback) => {
        if (!this.origins.allows(req)) return callback(`${ERROR_CODES.ORIGIN_NOT_ALLOWED}: Expected this server's own origin or one in A2I_CORS_ORIGINS`, false);
        const address = this.addressOf(req);
        if ((this.transports.get(address) ?? 0) >= 2 * this.caps.perAddress) {
          return callback(`${ERROR_CODES.TOO_MANY_CONNECTIONS}: Expected at most ${this.caps.perAddress} connections from one address`, false);
        }
        if (this.transportTotal >= 2 * this.caps.total) return callback(`${ERROR_CODES.CONNECTIONS_FULL}: The server holds all the connections it takes; try again later`, false);
        callback(null, true);
      },
    };
  }

  /** Counts the transports (engine.io connections) per address. */
  watchTransports(io: Server): void {
    io.engine.on('connection', (conn: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => {
      const address = this.addressOf(conn.request);
      this.transports.set(address, (this.transports.get(address) ?? 0) + 1);
      this.transportTotal += 1;
      conn.once('close', () => {
        this.transportTotal -= 1;
        decrement(this.transports, address);
      });
    });
  }

  /** The first namespace middleware: caps, then the rate limit; a slot is held from here until disconnect. */
  readonly admit = (socket: Socket, next: (err?: Error) => void): void => {
    const address = this.addressOf(socket.request);
    const refuse = (error: ApiError) =>
      next(Object.assign(new Error(error.message), { data: { ...errorBody(error.code, error.message).error, ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}) } }));
    if (this.openTotal >= this.caps.total) {
      return refuse(new ApiError(ERROR_CODES.CONNECTIONS_FULL, `The server holds ${this.caps.total} connections, all it takes; try again later`, 5));
    }
    const held = this.open.get(address) ?? 0;
    if (held >= this.caps.perAddress) {
      return refuse(new ApiError(ERROR_CODES.TOO_MANY_CONNECTIONS, `Expected at most ${this.caps.perAddress} open connections from one address but this one holds ${held}`));
    }
    // the slot is taken before the (asynchronous) rate check, so concurrent handshakes cannot overshoot
    this.open.set(address, held + 1);
    this.openTotal += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.openTotal -= 1;
      decrement(this.open, address);
    };
    // admitted: until it disconnects; refused by a later middleware (auth): until its transport closes
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    const auth = (socket.handshake.auth ?? {}) as { apiKey?: unknown };
    const credentials = typeof auth.apiKey === 'string' ? { apiKeyHash: sha256Hex(auth.apiKey) } : {};
    this.rates.consume('connections', this.rates.clientKey(credentials, address)).then(
      () => next(),
      (error: unknown) => {
        release();
        if (error instanceof ApiError) return refuse(error);
        next(Object.assign(new Error('The server could not admit the connection'), { data: errorBody(isCodedError(error) ? error.code : ERROR_CODES.INTERNAL, 'The server could not admit the connection').error }));
      },
    );
  };

  /** Open (admitted) connections: per address and in total, for tests and metrics. */
  get openConnections(): number {
    return this.openTotal;
  }

  private addressOf(req: IncomingMessage): string {
    return addressKey(clientAddress(req, this.trust));
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
