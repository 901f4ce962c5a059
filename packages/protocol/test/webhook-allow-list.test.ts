import { describe, expect, it } from 'vitest';
import { canonicalAddress, isSpecialPurposeAddress, loadServerConfig, parseAllowEntry, webhookAddressPolicy, webhookEventsOf, webhookRequestSchema, type AllowEntry } from '../src/index.js';

const entries = (...texts: string[]): AllowEntry[] => texts.map((text) => parseAllowEntry(text)!);

describe('webhook allow-list', () => {
  it('refuses every special-purpose range by default and allows public addresses', () => {
    const policy = webhookAddressPolicy(entries('*'));
    const refused = [
      '0.0.0.0', '10.1.2.3', '100.64.0.1', '127.0.0.1', '127.255.0.9', '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.0.1',
      '198.18.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:a00:1', '64:ff9b::a00:1',
    ];
    for (const address of refused) expect({ address, allowed: policy.allows('h', address) }).toEqual({ address, allowed: false });
    for (const address of ['93.184.215.14', '172.32.0.1', '100.128.0.1', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect({ address, allowed: policy.allows('h', address) }).toEqual({ address, allowed: true });
    }
  });

  type HostAddress = [host: string, address: string];
  const ALLOW_CASES: Array<[what: string, allow: string[], allowed: HostAddress[], refused: HostAddress[]]> = [
    [
      // no `*`: public addresses are not allowed either
      'an address or subnet entry opens a special range, and only that',
      ['127.0.0.1', '10.1.0.0/16', '[::1]'],
      [['localhost', '127.0.0.1'], ['localhost', '::1'], ['x', '::ffff:127.0.0.1'], ['x', '10.1.200.3']],
      [['x', '127.0.0.2'], ['x', '10.2.0.1'], ['example.com', '93.184.215.14']],
    ],
    [
      // a listed host name does not open the private network
      'host entries (and *.domain subdomains) match at public addresses only',
      ['hooks.example.com', '*.example.org'],
      [['hooks.example.com', '93.184.215.14'], ['HOOKS.example.com.', '93.184.215.14'], ['a.b.example.org', '93.184.215.14']],
      [['other.example.com', '93.184.215.14'], ['example.org', '93.184.215.14'], ['hooks.example.com', '10.0.0.1']],
    ],
  ];
  it.each(ALLOW_CASES)('%s', (_what, allow, allowed, refused) => {
    const policy = webhookAddressPolicy(entries(...allow));
    expect(allowed.filter(([host, address]) => !policy.allows(host, address))).toEqual([]);
    expect(refused.filter(([host, address]) => policy.allows(host, address))).toEqual([]);
  });

  it('parses entries and refuses what is none of the forms', () => {
    expect(parseAllowEntry('10.0.0.0/8')).toEqual({ kind: 'net', address: '10.0.0.0', prefix: 8, type: 'ipv4' });
    expect(parseAllowEntry('fd00::/8')).toEqual({ kind: 'net', address: 'fd00::', prefix: 8, type: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/8/1', 'http://x', 'a b', '*.', '::1/129', '']) expect({ bad, entry: parseAllowEntry(bad) }).toEqual({ bad, entry: null });
    expect(canonicalAddress('[::FFFF:7f00:1]')).toBe('127.0.0.1');
    expect(isSpecialPurposeAddress('192.0.2.1')).toBe(true);
  });

  it('reads A2I_WEBHOOK_* and refuses a malformed secret or entry', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const config = loadServerConfig({ A2I_WEBHOOK_SECRET: secret, A2I_WEBHOOK_ALLOW: '127.0.0.1, *.example.com' });
    expect(config.webhooks).toEqual({
      secret,
      allow: [
        { kind: 'net', address: '127.0.0.1', prefix: 32, type: 'ipv4' },
        { kind: 'host', name: 'example.com', subdomains: true },
      ],
      timeoutMs: 10_000,
      attempts: 6,
      backoffMs: 30_000,
    });
    expect(loadServerConfig({}).webhooks).toMatchObject({ secret: undefined, allow: [{ kind: 'any' }] });
    expect(() => loadServerConfig({ A2I_WEBHOOK_SECRET: 'whsec_short' })).toThrow(/A2I_WEBHOOK_SECRET/);
    expect(() => loadServerConfig({ A2I_WEBHOOK_SECRET: Buffer.alloc(32).toString('base64') })).toThrow(/A2I_WEBHOOK_SECRET/);
    expect(() => loadServerConfig({ A2I_WEBHOOK_ALLOW: '10.0.0.0/40' })).toThrow(/A2I_WEBHOOK_ALLOW/);
  });
});

describe('webhook events', () => {
  it('maps job events to Replicate-style webhook events and defaults to completed', () => {
    expect(webhookEventsOf('job:started')).toEqual(['start']);
    expect(webhookEventsOf('job:progress')).toEqual(['logs']);
    expect(webhookEventsOf('job:succeeded')).toEqual(['output', 'completed']);
    expect(webhookEventsOf('job:canceled')).toEqual(['completed']);
    expect(webhookEventsOf('job:preview')).toEqual([]);
    expect(webhookEventsOf('job:queued')).toEqual([]);
    expect(webhookRequestSchema.parse({ url: 'https://x' }).events).toEqual(['completed']);
    expect(webhookRequestSchema.parse({ url: 'https://x', events: ['start', 'start'] }).events).toEqual(['start']);
    expect(webhookRequestSchema.safeParse({ url: 'https://x', events: [] }).success).toBe(false);
  });
});
