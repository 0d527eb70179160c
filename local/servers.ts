import { createServer, type Server } from 'node:http';

/** The local stack's HTTP servers on loopback: 127.0.0.1, and ::1 too for a fixed port when the machine has IPv6. */
export async function listen(port: number): Promise<Server[]> {
  const primary = createServer();
  await new Promise<void>((resolve, reject) => {
    primary.once('error', reject);
    primary.listen(port, '127.0.0.1', () => resolve());
  });
  if (port === 0) return [primary];
  // Browsers may resolve localhost to ::1 first; answer there too when the machine has IPv6.
  const secondary = createServer();
  const ipv6 = await new Promise<boolean>((resolve) => {
    secondary.once('error', () => resolve(false));
    secondary.listen(port, '::1', () => resolve(true));
  });
  return ipv6 ? [primary, secondary] : [primary];
}

/** Closes the servers, dropping the connections browsers keep open. */
export async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}
