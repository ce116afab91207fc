/**
 * Prints the kamailio.cfg the embedded edge runs, for a customer who runs the edge on their own host
 * (UCC_TELEPHONY=external; README "Your own PBX", docs/architecture.md "Telephony"); `--help` lists the options.
 *
 *   npx tsx scripts/kamailio-config.ts --domain pbx.example.org --token <32+ chars> --listen 192.0.2.10 > kamailio.cfg
 *
 * The same generator as the embedded edge: what the server expects of the edge (the `creds` htable over RPC, the
 * evapi events, `dlg.bridge_dlg`) is what this config does. Only where it listens differs: the embedded edge is on
 * loopback, this one on the edge host's address (by default its first non-loopback IPv4 address).
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { isCountryCode } from '../server/contacts/phoneNumbers.js';
import { BRIDGE_USER } from '../server/stack/KamailioService.js';
import { kamailioConfig } from '../server/stack/kamailioConfig.js';
import type { DialPlan } from '../server/stack/kamailioDialPlan.js';
import type { EdgeListen } from '../server/stack/kamailioListen.js';

export const USAGE = `Usage: npx tsx scripts/kamailio-config.ts --domain <sip domain> --token <rpc token> [options] > kamailio.cfg

Prints the Kamailio 5.6 config of an OpiVoice UCC edge for UCC_TELEPHONY=external.

Required:
  --domain <name>            the SIP domain of every extension (UCC_SIP_DOMAIN)
  --token <secret>           16+ characters; /RPC answers only with it (UCC_KAMAILIO_RPC_TOKEN)

Where it listens (the embedded edge is on 127.0.0.1; this one is for the edge host):
  --listen <ip>              SIP over UDP and TCP, WebSocket /ws and JSON-RPC /RPC on --sip-port
                             (default: this host's first non-loopback IPv4 address)
  --sip-port <port>          default 5060
  --advertise <host[:port]>  the public address put in Via/Record-Route/Contact (behind NAT); the port
                             replaces the SIP port's only
  --ws-port <port>           one more TCP port for WebSocket (ws://<listen>:<port>/ws)
  --wss-port <port>          WebSocket over TLS (wss://<listen>:<port>/ws); needs kamailio-tls-modules and
  --tls-cert <file>          the certificate chain (PEM) and
  --tls-key <file>           its private key (PEM), both readable by Kamailio
  --evapi-listen <ip>        evapi's address, which the server connects to (default: --listen)
  --evapi-port <port>        default 8448 (UCC_KAMAILIO_EVAPI=<evapi-listen>:<port>)
  --rtpengine-ng-port <port> the edge's own rtpengine's ng port on 127.0.0.1, default 2223

Calls:
  --no-answer-ms <ms>        ringing before 408, default 30000
  --country <code>           how national numbers are read, default IT
  --trunk <sip:host[:port]>  where external numbers go; unset: they fail with 503
  --prefix <digits>          put before the E.164 number sent to the trunk, default empty
  --children <n>             SIP processes per transport, default 4
  --help                     this text
`;

/** The first non-internal IPv4 address of this host: where a customer's edge listens unless told. */
function hostAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}

export function configFromArgs(args: string[]): string {
  const { values } = parseArgs({
    args,
    options: {
      domain: { type: 'string' },
      token: { type: 'string' },
      'sip-port': { type: 'string', default: '5060' },
      'evapi-port': { type: 'string', default: '8448' },
      'rtpengine-ng-port': { type: 'string', default: '2223' },
      'no-answer-ms': { type: 'string', default: '30000' },
      country: { type: 'string', default: 'IT' },
      trunk: { type: 'string' },
      prefix: { type: 'string', default: '' },
      children: { type: 'string', default: '4' },
      listen: { type: 'string' },
      advertise: { type: 'string' },
      'ws-port': { type: 'string' },
      'wss-port': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'evapi-listen': { type: 'string' },
    },
  });
  const fail = (message: string): never => {
    throw new Error(`kamailio-config: ${message}`);
  };
  const num = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name]);
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(`--${name} must be ${min}-${max}`);
  };
  const domain = values.domain ?? fail('--domain is required (the SIP domain, UCC_SIP_DOMAIN)');
  if (!/^[a-z0-9.-]+$/i.test(domain)) fail('--domain must be a domain name');
  const token = values.token ?? fail('--token is required (UCC_KAMAILIO_RPC_TOKEN)');
  if (token.length < 16 || /["\\\s]/.test(token)) fail('--token must be 16+ characters, no quotes or spaces');
  const upper = values.country.toUpperCase();
  const country = isCountryCode(upper) ? upper : fail('--country must be a country code such as IT');
  if (values.trunk && !/^sip:[a-z0-9.-]+(:\d{1,5})?$/i.test(values.trunk))
    fail('--trunk must be sip:host[:port]');
  if (!/^\d{0,4}$/.test(values.prefix)) fail('--prefix must be up to 4 digits');
  const dialPlan: DialPlan = { country, trunkUri: values.trunk, outboundPrefix: values.prefix };
  const ipv4 = (name: 'listen' | 'evapi-listen', value: string): string =>
    isIP(value) === 4 ? value : fail(`--${name} must be an IPv4 address of this host, such as 192.0.2.10`);
  const ip = ipv4('listen', values.listen ?? hostAddress() ?? fail('no IPv4 address found: give --listen'));
  if (values.advertise && !/^[a-z0-9.-]+(:\d{1,5})?$/i.test(values.advertise))
    fail('--advertise must be host[:port]');
  const optionalPort = (name: 'ws-port' | 'wss-port'): number | undefined =>
    values[name] === undefined ? undefined : num(name, 1, 65535);
  const wssPort = optionalPort('wss-port');
  if (wssPort !== undefined && !(values['tls-cert'] && values['tls-key']))
    fail('--wss-port needs --tls-cert and --tls-key');
  if (wssPort === undefined && (values['tls-cert'] || values['tls-key']))
    fail('--tls-cert and --tls-key go with --wss-port');
  const listen: EdgeListen = {
    ip,
    advertise: values.advertise,
    wsPort: optionalPort('ws-port'),
    wss:
      wssPort === undefined
        ? undefined
        : { port: wssPort, certificate: values['tls-cert'] ?? '', privateKey: values['tls-key'] ?? '' },
    evapiIp: values['evapi-listen'] === undefined ? undefined : ipv4('evapi-listen', values['evapi-listen']),
  };
  return kamailioConfig({
    sipPort: num('sip-port', 1, 65535),
    evapiPort: num('evapi-port', 1, 65535),
    rtpengineNgPort: num('rtpengine-ng-port', 1, 65535),
    domain,
    bridgeUser: BRIDGE_USER,
    rpcToken: token,
    noAnswerTimeoutMs: num('no-answer-ms', 1000, 600_000),
    children: num('children', 1, 64),
    dialPlan,
    listen,
  });
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  try {
    const args = process.argv.slice(2);
    process.stdout.write(args.includes('--help') || args.includes('-h') ? USAGE : configFromArgs(args));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
