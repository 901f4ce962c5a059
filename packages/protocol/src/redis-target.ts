/**
 * What A2I_REDIS_URL points at: one Redis node, a Redis Cluster, or a master found through
 * Redis Sentinel. One variable, three forms (README "Redis beyond one node"):
 *
 *   redis://[user:password@]host[:port][/db]                      one node (rediss:// with TLS)
 *   redis+cluster://[user:password@]host:port,host:port,...        a Cluster: any of its nodes, the
 *                                                                  client finds the rest (rediss+cluster://)
 *   redis+sentinel://[user:password@]host:port,host:port/<master>[/db][?sentinelUsername=..&sentinelPassword=..]
 *                                                                  the sentinels and the master's name
 *                                                                  (rediss+sentinel://)
 *
 * The user and password are the data nodes' (ACL or requirepass); a sentinel's own credentials
 * go in the query. A host may be an IPv6 address in brackets ([::1]:6379). Percent-escapes are
 * decoded in the user, password, master name and query values.
 */

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisCredentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { kind: 'node'; url: string }
  | ({ kind: 'cluster'; nodes: HostPort[]; tls: boolean } & RedisCredentials)
  | ({ kind: 'sentinel'; sentinels: HostPort[]; masterName: string; db: number; tls: boolean; sentinelUsername?: string; sentinelPassword?: string } & RedisCredentials);

/** Redis's and Sentinel's well-known ports (redis.io, "Redis configuration" and "High availability with Redis Sentinel"). */
const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;

/** A2I_REDIS_URL in a form the server cannot use; `expected` says which (the password is never in the message). */
export class RedisUrlError extends TypeError {
  override readonly name = 'RedisUrlError';
  constructor(
    readonly expected: string,
    url: string,
  ) {
    super(`Expected ${expected} for A2I_REDIS_URL but received ${JSON.stringify(redactRedisUrl(url))}`);
  }
}

const fail = (url: string, expected: string): never => {
  throw new RedisUrlError(expected, url);
};

/** The URL with its password (and a sentinel password) replaced by `***`, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@').replace(/([?&]sentinelPassword=)[^&]*/i, '$1***');
}

function hostPorts(url: string, list: string, defaultPort: number): HostPort[] {
  const entries = list.split(',').map((entry) => entry.trim());
  if (entries.length === 0 || entries.some((entry) => entry === '')) fail(url, 'a comma list of host:port');
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry);
    if (!match) return fail(url, 'host[:port] entries (an IPv6 address in brackets)');
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (port < 1 || port > 65535) fail(url, 'ports between 1 and 65535');
    return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

function credentials(url: string, userinfo: string | undefined): RedisCredentials {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  if (colon < 0 && user === '') fail(url, 'user:password@ (or :password@) before the hosts');
  return { ...(user !== '' ? { username: user } : {}), ...(password !== undefined ? { password } : {}) };
}

/** Parses A2I_REDIS_URL; throws RedisUrlError naming the form it expected. */
export function parseRedisTarget(url: string): RedisTarget {
  const match = /^(rediss?)(?:\+(cluster|sentinel))?:\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) return fail(url, 'redis://, rediss://, redis+cluster:// or redis+sentinel:// URL');
  const [, scheme, topology, userinfo, hosts, path = '', query = ''] = match as unknown as [string, string, string | undefined, string | undefined, string, string | undefined, string | undefined];
  const tls = scheme.toLowerCase() === 'rediss';
  if (topology === undefined) {
    // one node: ioredis reads this URL itself (db, credentials, TLS)
    if (hosts.includes(',')) fail(url, 'one host in a redis:// URL (several nodes of a Cluster: redis+cluster://h1:p1,h2:p2)');
    return { kind: 'node', url: url.trim() };
  }
  const auth = credentials(url, userinfo);
  const params = new URLSearchParams(query);
  if (topology.toLowerCase() === 'cluster') {
    if (path !== '' && path !== '/') fail(url, 'no database in a redis+cluster:// URL (a Cluster has only db 0)');
    if ([...params.keys()].length > 0) fail(url, 'no query in a redis+cluster:// URL');
    return { kind: 'cluster', nodes: hostPorts(url, hosts, REDIS_PORT), tls, ...auth };
  }
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length < 1 || segments.length > 2) fail(url, "the master's name after the sentinels (redis+sentinel://h1:26379,h2:26379/mymaster[/db])");
  const db = segments[1] === undefined ? 0 : Number(segments[1]);
  if (!Number.isInteger(db) || db < 0) fail(url, 'a database number after the master name');
  for (const key of params.keys()) if (key !== 'sentinelUsername' && key !== 'sentinelPassword') fail(url, 'only sentinelUsername and sentinelPassword in the query');
  const sentinelUsername = params.get('sentinelUsername') ?? undefined;
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return {
    kind: 'sentinel',
    sentinels: hostPorts(url, hosts, SENTINEL_PORT),
    masterName: decodeURIComponent(segments[0]!),
    db,
    tls,
    ...auth,
    ...(sentinelUsername !== undefined ? { sentinelUsername } : {}),
    ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
  };
}
