import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer on loopback for the failover tests: each new connection goes to the
 * first of `backends` (ports) that accepts it, so when one api instance stops, clients that
 * reconnect reach the next one.
 */
export function tcpBalancer(backends: number[]): Promise<{ port: number; url: string; server: Server }> {
  const server = createServer((client: Socket) => {
    client.pause();
    const tryBackend = (i: number) => {
      if (i >= backends.length) return client.destroy();
      const upstream = connect(backends[i]!, '127.0.0.1');
      upstream.once('error', () => tryBackend(i + 1));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ port, url: `http://127.0.0.1:${port}`, server });
    }),
  );
}
