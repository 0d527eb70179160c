import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP proxy in front of an AWS JSON service that counts the requests passing through, per operation. */
export interface CountingProxy {
  endpoint: string;
  /** Requests forwarded so far, per operation (`GetItem`, `Decrypt`, ...), from `X-Amz-Target`. */
  readonly counts: Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy on loopback that forwards every request to `target` unchanged and counts it. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const counts: Record<string, number> = {};
  const server: Server = createServer((incoming, outgoing) => {
    const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    const forwarded = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: upstream.host } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    reset: () => {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
