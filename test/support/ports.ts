import net from 'node:net';

/**
 * A port on 127.0.0.1 with nothing listening: bound by the OS, then released. Good for "nobody
 * answers here" tests, and for a service a test starts itself (a fixed port may be taken).
 */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
