import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CodedError, ERROR_CODES } from '@a2i/protocol/errors';
import { canonicalAddress, webhookAddressPolicy, type WebhookAddressPolicy, type WebhookConfig, type WebhookRequest } from '@a2i/protocol';

/** A webhook URL that passed the checks, and the one address it was checked at: the delivery connects there. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (dns.lookup by default; tests may substitute). */
export type ResolveHost = (host: string) => Promise<Array<{ address: string; family: number }>>;

const resolveWithDns: ResolveHost = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Checks a webhook URL where it stands now: it parses, is http(s) without credentials, and every
 * address its host resolves to is allowed (A2I_WEBHOOK_ALLOW). Refuses with WEBHOOK_INVALID or
 * WEBHOOK_NOT_ALLOWED. The delivery connects to the returned address, never resolving again,
 * so the host cannot answer the check with one address and the connection with another.
 */
export async function checkWebhookTarget(raw: string, policy: WebhookAddressPolicy, timeoutMs: number, resolveHost: ResolveHost = resolveWithDns): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CodedError(ERROR_CODES.WEBHOOK_INVALID, 'Expected an absolute http or https URL for webhook.url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CodedError(ERROR_CODES.WEBHOOK_INVALID, `Expected an http or https URL for webhook.url but received the scheme ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username !== '' || url.password !== '') throw new CodedError(ERROR_CODES.WEBHOOK_INVALID, 'Expected no user or password in webhook.url');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await resolveWithin(host, timeoutMs, resolveHost);
  if (addresses.length === 0) throw new CodedError(ERROR_CODES.WEBHOOK_INVALID, `The webhook host ${host} has no address`);
  for (const { address } of addresses) {
    if (!policy.allows(host, address)) {
      throw new CodedError(ERROR_CODES.WEBHOOK_NOT_ALLOWED, `The webhook host ${host} resolves to ${canonicalAddress(address)}, where this server does not send webhooks`);
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

async function resolveWithin(host: string, timeoutMs: number, resolveHost: ResolveHost): Promise<Array<{ address: string; family: number }>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CodedError(ERROR_CODES.WEBHOOK_INVALID, `The webhook host ${host} did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([resolveHost(host), timeout]);
  } catch (error) {
    if (error instanceof CodedError) throw error;
    throw new CodedError(ERROR_CODES.WEBHOOK_INVALID, `The webhook host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'DNS error'})`);
  } finally {
    clearTimeout(timer);
  }
}

/** The check of a request's `webhook` at POST: webhooks on (A2I_WEBHOOK_SECRET), the URL allowed. */
export class WebhookTargets {
  private readonly policy: WebhookAddressPolicy;

  constructor(
    private readonly config: WebhookConfig,
    private readonly resolveHost: ResolveHost = resolveWithDns,
  ) {
    this.policy = webhookAddressPolicy(config.allow);
  }

  async require(webhook: WebhookRequest): Promise<void> {
    if (this.config.secret === undefined) throw new CodedError(ERROR_CODES.WEBHOOKS_DISABLED, 'This server sends no webhooks (it has no A2I_WEBHOOK_SECRET)');
    await checkWebhookTarget(webhook.url, this.policy, this.config.timeoutMs, this.resolveHost);
  }

  /** The check again at delivery time (DNS may have changed since POST). */
  check(url: string): Promise<CheckedTarget> {
    return checkWebhookTarget(url, this.policy, this.config.timeoutMs, this.resolveHost);
  }
}
