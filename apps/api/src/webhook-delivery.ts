import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { CheckedTarget } from './webhook-target.js';

/**
 * The three Standard Webhooks headers (standardwebhooks.com): `webhook-id` (the message's,
 * the same on every retry), `webhook-timestamp` (this attempt, integer seconds) and
 * `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
 * base64-decoded part of the `whsec_` secret (signed by the spec's reference library).
 */
export function signedHeaders(signer: Webhook, messageId: string, body: string, now: Date): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signer.sign(messageId, now, body),
  };
}

/**
 * POSTs `body` to the checked address (the URL's host goes in Host and, for https, in SNI and
 * the certificate check), within `timeoutMs` for the whole exchange. Redirects are not
 * followed: the answer's status is returned as it is.
 */
export function postWebhook(target: CheckedTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  const { url, address, family } = target;
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const options: RequestOptions & { servername?: string } = {
    host: address,
    family,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    agent: false,
    signal: AbortSignal.timeout(timeoutMs),
    headers: {
      host: url.host,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'a2i-webhooks/1',
      ...headers,
    },
    // SNI takes names only: an https URL with an address literal is checked against that address
    ...(secure && isIP(host) === 0 ? { servername: host } : {}),
  };
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(options, (response) => {
      // the answer's body is not read: drained and dropped
      response.resume();
      response.on('error', () => undefined);
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end(body);
  });
}
