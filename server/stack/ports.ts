import { createSocket } from 'node:dgram';
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

/**
 * A loopback port free for TCP and for UDP alike, for a child that binds both (Kamailio's SIP port): freePort
 * checks TCP only, and a UDP socket of another process (an RTP port, a phone) can hold the same number.
 */
export async function freeTcpUdpPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(host);
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no port free for both TCP and UDP on loopback');
}
