import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { ERROR_CODES } from '@a2i/protocol';
import { ApiError } from './api-error.js';
import type { OriginPolicy } from './origin-policy.js';

/**
 * The HTTP answers' security headers and CORS, mounted before every route:
 *
 * 1. A request from an origin the policy refuses: 403 ORIGIN_NOT_ALLOWED (origin-policy.ts).
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
 */
export function securityHeaders(policy: OriginPolicy): RequestHandler[] {
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
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
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
