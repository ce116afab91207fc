import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { freeTcpUdpPort } from '../../server/stack/ports.js';

describe('freeTcpUdpPort (the SIP port Kamailio binds for UDP and TCP)', () => {
  it('gives ports that both a TCP server and a UDP socket can bind', async () => {
    for (let i = 0; i < 5; i++) {
      const port = await freeTcpUdpPort();
      const udp = createSocket('udp4');
      udp.bind(port, '127.0.0.1');
      await once(udp, 'listening');
      const tcp = createServer();
      tcp.listen(port, '127.0.0.1');
      await once(tcp, 'listening');
      assert.equal(udp.address().port, port);
      udp.close();
      tcp.close();
      await once(tcp, 'close');
    }
  });
});
