// What browsers may do with the api: which origins may call it (OriginPolicy, for HTTP and
// socket.io) and the security headers and CORS every HTTP answer carries (securityHeaders).
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';

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

/**
 * The HTTP answers' security headers and CORS, mounted before every route:
 *
 * 1. A request from an origin the policy refuses: 403 ORIGIN_NOT_ALLOWED (OriginPolicy above).
 * 2. CORS (the `cors` package) for listed origins only: preflights answered, Retry-After and
 *    Location readable by the calling page. The api's own page needs none.
 * 3. helmet, with a Content-Security-Policy the page in apps/web/public runs under: it has no
 *    inline script or style (its JS sets element.style through the CSSOM, which CSP allows),
 *    loads /socket.io/socket.io.js and its modules from its own origin, shows uploads and
 *    results as blob: URLs and icons as data: URLs, and talks to its own origin only (fetch,
 *    socket.io polling and WebSocket: CSP's 'self' covers ws/wss of the same host).
 *    Framing is refused (frame-ancestors 'none' + X-Frame-Options DENY). No HSTS and no
 *    upgrade-insecure-requests: the api also serves plain HTTP on a LAN; TLS and HSTS belong to
 *    the proxy that terminates TLS. Cross-Origin-Resource-Policy is same-origin unless
 *    A2I_CORS_ORIGINS lists origins (then their pages may show its images).
 *    `imageOrigins`: where else the page's images (and videos) come from: the bucket's origin when
 *    A2I_STORAGE_REDIRECT=presigned sends image requests there (image-delivery.ts).
 */
export function securityHeaders(policy: OriginPolicy, imageOrigins: readonly string[] = []): RequestHandler[] {
  const refuseForeignOrigin = (req: Request, _res: Response, next: NextFunction) => {
    if (policy.allows(req)) return next();
    next(new ApiError(ERROR_CODES.ORIGIN_NOT_ALLOWED, `Expected a request from this server's own origin or one in A2I_CORS_ORIGINS but received Origin ${JSON.stringify(req.headers.origin)}`));
  };
  const corsHeaders = cors({
    origin: (origin, callback) => callback(null, policy.isListed(origin)),
    exposedHeaders: ['Retry-After', 'Location'],
    maxAge: 600,
  });
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...imageOrigins],
        mediaSrc: ["'self'", 'blob:', ...imageOrigins],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: policy.crossOriginAllowed ? 'cross-origin' : 'same-origin' },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
  });
  return [refuseForeignOrigin, corsHeaders, headers];
}
