import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer on loopback for the failover tests: each new connection goes to the
 * first of `backends` (ports) that accepts it, so when one api instance stops, clients that
 * reconnect reach the next one. `roundRobin`: new connections start at the next backend in
 * turn (then go on to the others if it refuses). `backends` is read at each connection: a
 * test adds and removes instances by changing the array (a rolling update).
 */
export function tcpBalancer(backends: number[], options: { roundRobin?: boolean } = {}): Promise<{ port: number; url: string; server: Server }> {
  let turn = 0;
  const server = createServer((client: Socket) => {
    client.pause();
    const order = [...backends];
    if (options.roundRobin && order.length > 0) order.push(...order.splice(0, turn++ % order.length));
    const tryBackend = (i: number) => {
      if (i >= order.length) return client.destroy();
      const upstream = connect(order[i]!, '127.0.0.1');
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
