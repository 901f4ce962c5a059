import type { IncomingMessage } from 'node:http';

/**
 * Which browser origins may call the api (A2I_CORS_ORIGINS), for HTTP and socket.io alike.
 * A request without an Origin header is no browser's cross-origin call (curl, the CLI, a
 * same-origin navigation) and is let through. Otherwise the origin must be the api's own (its
 * host:port is the request's Host, or X-Forwarded-Host behind trusted proxies; the scheme is
 * not compared, so a TLS-terminating proxy in front changes nothing), or listed, or the list
 * must be `*`. Anything else is refused with 403 ORIGIN_NOT_ALLOWED: CORS headers alone would
 * only stop the page from READING the answer, while a multipart POST from a foreign page is a
 * "simple" request the browser sends without asking first.
 */
export class OriginPolicy {
  private readonly listed: Set<string>;
  private readonly any: boolean;

  constructor(
    allowList: string[],
    private readonly trustsProxy: boolean,
  ) {
    this.any = allowList.includes('*');
    this.listed = new Set(allowList.filter((origin) => origin !== '*').map((origin) => origin.toLowerCase().replace(/\/$/, '')));
  }

  /** True when cross-origin browser calls may be allowed at all (a listed origin or `*`). */
  get crossOriginAllowed(): boolean {
    return this.any || this.listed.size > 0;
  }

  /** A listed origin (or any, for `*`): it gets CORS headers. */
  isListed(origin: string | undefined): boolean {
    return origin !== undefined && (this.any || this.listed.has(origin.toLowerCase()));
  }

  /** Whether the request may proceed as far as its origin goes. */
  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.isListed(origin)) return true;
    return this.isSameOrigin(origin, req);
  }

  private isSameOrigin(origin: string, req: IncomingMessage): boolean {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false;
    }
    const forwarded = this.trustsProxy ? firstValue(req.headers['x-forwarded-host']) : undefined;
    const own = forwarded ?? req.headers.host;
    return own !== undefined && host !== '' && host.toLowerCase() === own.trim().toLowerCase();
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}
