/**
 * Where a generated Kamailio edge listens. The embedded edge stays on loopback (only our server and local phones
 * reach it); an edge printed for a customer's host (scripts/kamailio-config.ts) listens on that host's address,
 * may advertise a public one, and may add WebSocket ports, one of them over TLS.
 */
export interface EdgeListen {
  /** SIP over UDP and TCP on the SIP port, with WebSocket (`/ws`) and JSON-RPC (`/RPC`) on that TCP port. */
  ip: string;
  /** `host[:port]` put in Via, Record-Route and the click-to-call Contact instead (behind NAT). */
  advertise?: string | undefined;
  /** One more TCP port for WebSocket (`ws://ip:port/ws`), such as 8080. */
  wsPort?: number | undefined;
  /** WebSocket over TLS (`wss://ip:port/ws`): the tls module (kamailio-tls-modules) with this PEM pair. */
  wss?: { port: number; certificate: string; privateKey: string } | undefined;
  /** evapi's address, which the server connects to; default `ip`. */
  evapiIp?: string | undefined;
}

export const LOOPBACK_LISTEN: EdgeListen = { ip: '127.0.0.1' };

/** The address others reach a port of the edge at: the advertised host (and its port, for the SIP port only). */
function advertised(l: EdgeListen, port: number, sipPort: number): string | undefined {
  if (!l.advertise) return undefined;
  const [host, advPort] = l.advertise.split(':');
  return `${host ?? ''}:${port === sipPort && advPort ? advPort : port}`;
}

/** The `listen=` lines (and `enable_tls`) of the core section. */
export function listenLines(l: EdgeListen, sipPort: number): string {
  const line = (proto: string, port: number): string => {
    const adv = advertised(l, port, sipPort);
    return `listen=${proto}:${l.ip}:${port}${adv ? ` advertise ${adv}` : ''}`;
  };
  return [
    line('udp', sipPort),
    line('tcp', sipPort),
    ...(l.wsPort ? [line('tcp', l.wsPort)] : []),
    ...(l.wss ? ['enable_tls=yes', line('tls', l.wss.port)] : []),
  ].join('\n');
}

/** `loadmodule` and modparams of the tls module, when there is a WSS port. */
export function tlsModule(l: EdgeListen): string {
  if (!l.wss) return '';
  return `loadmodule "tls.so"
# WebSocket over TLS only: no client certificates (browsers and our server's proxy send none).
modparam("tls", "certificate", ${JSON.stringify(l.wss.certificate)})
modparam("tls", "private_key", ${JSON.stringify(l.wss.privateKey)})
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)`;
}

/** `host:port` of the SIP port as phones see it: the click-to-call controller's Contact. */
export function sipContactAddress(l: EdgeListen, sipPort: number): string {
  return advertised(l, sipPort, sipPort) ?? `${l.ip}:${sipPort}`;
}
