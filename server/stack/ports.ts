import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on loopback. There is a short window before the child binds it; the
 * supervisors retry start-up with a fresh port when a child reports the address in use.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the bound port'));
      });
    });
  });
}
