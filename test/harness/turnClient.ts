import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

/**
 * Just enough of a TURN client (RFC 5766 Allocate with long-term credentials, RFC 5389 framing) to ask a real
 * coturn whether it accepts a username and password. Returns the relayed port, or the error code.
 */
const MAGIC = 0x2112a442;
const ALLOCATE = 0x0003;
const ALLOCATE_OK = 0x0103;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
} as const;

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function message(type: number, txId: Buffer, attrs: Buffer[], integrityKey?: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC, 4);
  txId.copy(header, 8);
  let body = Buffer.concat(attrs);
  if (integrityKey) {
    // The length covers the MESSAGE-INTEGRITY attribute (24 bytes) that follows what is hashed.
    header.writeUInt16BE(body.length + 24, 2);
    const hmac = createHmac('sha1', integrityKey)
      .update(Buffer.concat([header, body]))
      .digest();
    body = Buffer.concat([body, attribute(ATTR.MESSAGE_INTEGRITY, hmac)]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function parse(packet: Buffer): { type: number; attrs: Map<number, Buffer> } {
  const attrs = new Map<number, Buffer>();
  let offset = 20;
  while (offset + 4 <= packet.length) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    attrs.set(type, packet.subarray(offset + 4, offset + 4 + length));
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return { type: packet.readUInt16BE(0), attrs };
}

export async function turnAllocate(
  port: number,
  username: string,
  password: string,
): Promise<{ ok: true; relayedPort: number } | { ok: false; code: number }> {
  const socket = createSocket('udp4');
  const exchange = (packet: Buffer): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the TURN server')), 3_000);
      socket.once('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(packet, port, '127.0.0.1');
    });
  try {
    const transport = attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const challenge = parse(await exchange(message(ALLOCATE, randomBytes(12), [transport])));
    const realm = challenge.attrs.get(ATTR.REALM);
    const nonce = challenge.attrs.get(ATTR.NONCE);
    if (!realm || !nonce) return { ok: false, code: errorCode(challenge.attrs) };
    const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
    const attrs = [
      transport,
      attribute(ATTR.USERNAME, Buffer.from(username)),
      attribute(ATTR.REALM, realm),
      attribute(ATTR.NONCE, nonce),
    ];
    const answer = parse(await exchange(message(ALLOCATE, randomBytes(12), attrs, key)));
    if (answer.type !== ALLOCATE_OK) return { ok: false, code: errorCode(answer.attrs) };
    const relayed = answer.attrs.get(ATTR.XOR_RELAYED_ADDRESS);
    return { ok: true, relayedPort: relayed ? relayed.readUInt16BE(2) ^ (MAGIC >>> 16) : 0 };
  } finally {
    socket.close();
  }
}

function errorCode(attrs: Map<number, Buffer>): number {
  const value = attrs.get(ATTR.ERROR_CODE);
  return value ? (value[2] ?? 0) * 100 + (value[3] ?? 0) : 0;
}
