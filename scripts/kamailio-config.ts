/**
 * Prints the kamailio.cfg the embedded edge runs, for a customer who runs the edge on their own host
 * (UCC_TELEPHONY=external; docs/architecture.md, "Your own Kamailio edge"):
 *
 *   npx tsx scripts/kamailio-config.ts --domain pbx.example.org --token <32+ chars> \
 *     --sip-port 5060 --evapi-port 8448 --rtpengine-ng-port 2223 > kamailio.cfg
 *
 * The same generator as the embedded edge: what the server expects of the edge (the `creds` htable over RPC, the
 * evapi events, `dlg.bridge_dlg`) is what this config does.
 */
import { parseArgs } from 'node:util';
import { isCountryCode } from '../server/contacts/phoneNumbers.js';
import { BRIDGE_USER } from '../server/stack/KamailioService.js';
import { kamailioConfig, type DialPlan } from '../server/stack/kamailioConfig.js';

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
  });
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  try {
    process.stdout.write(configFromArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
