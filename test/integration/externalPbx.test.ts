import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kamailioConfig } from '../../server/stack/kamailioConfig.js';
import { kamailioRpcUp, pidNamespaceWrapper } from '../../server/stack/KamailioService.js';
import { freePort, freeTcpUdpPort } from '../../server/stack/ports.js';
import { RtpengineService } from '../../server/stack/RtpengineService.js';
import type { SipPasswordView } from '../../shared/schemas/calls.js';
import { configFromArgs } from '../../scripts/kamailio-config.js';
import { BaresipPhone } from '../harness/baresip.js';
import { eventually } from '../harness/eventually.js';
import {
  api,
  childrenOf,
  login,
  processesMentioning,
  readiness,
  startMain,
  stopMain,
  waitReady,
  type MainProcess,
} from '../harness/mainProcess.js';
import { testStack } from '../harness/testStack.js';
import { selfSigned } from '../harness/tls.js';

const DOMAIN = 'edge.customer.test';
const TOKEN = 'customer-edge-rpc-token-0123456789';

/**
 * The customer's own Kamailio edge: the config scripts/kamailio-config.ts prints, run by hand (not supervised by
 * anything of ours) with its own rtpengine, and a server process told of it with UCC_TELEPHONY=external.
 */
describe('telephony: the customer’s own Kamailio edge (UCC_TELEPHONY=external)', function () {
  this.timeout(60_000);
  let edgeDir: string;
  let rtpengine: RtpengineService;
  let sipPort: number;
  let evapiPort: number;
  let kamailio: ChildProcess | undefined;
  let s: MainProcess;
  const phones: BaresipPhone[] = [];
  let mario: BaresipPhone;
  let giulia: BaresipPhone;

  async function startKamailio(): Promise<void> {
    const { config } = testStack();
    if (config.telephony.mode !== 'embedded')
      throw new Error('kamailio is not installed: run scripts/bootstrap');
    const args = ['-DD', '-E', '-f', path.join(edgeDir, 'kamailio.cfg'), '-Y', edgeDir, '-m', '64'];
    const wrapper = pidNamespaceWrapper();
    const child = spawn(
      wrapper?.[0] ?? config.telephony.kamailioBin,
      wrapper ? [...wrapper.slice(1), config.telephony.kamailioBin, ...args] : args,
      { stdio: 'ignore', detached: true },
    );
    kamailio = child;
    await eventually('the external Kamailio answering its RPC', 15_000, async () => {
      if (child.exitCode !== null) assert.fail(`kamailio exited with ${child.exitCode}`);
      return (await kamailioRpcUp(sipPort, TOKEN).catch(() => false)) ? true : undefined;
    });
  }

  async function stopKamailio(): Promise<void> {
    const child = kamailio;
    kamailio = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // Its own process group: the namespace wrapper and Kamailio both get it.
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function deskPhone(token: string, extension: string, toneHz: number): Promise<BaresipPhone> {
    const res = await api(s, 'POST', '/api/telephony/me/password', { token });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const view = res.body as SipPasswordView;
    assert.equal(view.registrar, `sip:127.0.0.1:${sipPort}`);
    assert.equal(view.domain, DOMAIN);
    const phone = await BaresipPhone.start({
      dir: path.join(edgeDir, 'phones', extension),
      extension,
      password: view.password,
      domain: DOMAIN,
      proxyPort: sipPort,
      toneHz,
      toneMs: 700,
    });
    phones.push(phone);
    return phone;
  }

  /** A phone registers again (as after a reboot) and the edge accepts it: the credentials are there again. */
  async function registerAgain(phone: BaresipPhone): Promise<void> {
    await eventually(`${phone.extension} registered at the edge again`, 30_000, async () => {
      phone.clearEvents();
      await phone.reRegister();
      const event = await phone.next(['REGISTER_OK', 'REGISTER_FAIL']);
      assert.equal(event.type, 'REGISTER_OK', event.param);
      return (await edgeContacts(phone.extension)) > 0 ? true : undefined;
    });
  }

  async function edgeContacts(extension: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${sipPort}/RPC`, {
      method: 'POST',
      headers: { 'X-Ucc-Rpc-Token': TOKEN },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ul.lookup', params: ['location', extension] }),
    });
    const body = (await res.json()) as { result?: { Contacts?: unknown[] } };
    return body.result?.Contacts?.length ?? 0;
  }

  async function callConnects(): Promise<void> {
    mario.clearEvents();
    giulia.clearEvents();
    await mario.dial('201');
    await giulia.next('CALL_INCOMING').catch(async (err: unknown) => {
      const mine = await mario.next('CALL_CLOSED', 500).catch((e: unknown) => String(e));
      throw new Error(`${String(err)}\nthe caller: ${JSON.stringify(mine)}`);
    });
    await giulia.command('accept');
    await Promise.all([mario.next('CALL_ESTABLISHED'), giulia.next('CALL_ESTABLISHED')]);
    // The tone files end the call.
    await Promise.all([mario.next('CALL_CLOSED'), giulia.next('CALL_CLOSED')]);
  }

  before(async function () {
    this.timeout(240_000);
    const { config, logger } = testStack();
    if (config.telephony.mode !== 'embedded')
      throw new Error('rtpengine is not installed: run scripts/bootstrap');
    edgeDir = await mkdtemp(path.join(tmpdir(), 'ucc-customer-edge-'));
    rtpengine = await RtpengineService.create({
      bin: config.telephony.rtpengineBin,
      dataDir: edgeDir,
      portMin: 0,
      portMax: 0,
      logger,
      startTimeoutMs: 15_000,
    });
    sipPort = await freeTcpUdpPort();
    evapiPort = await freePort();
    const cfg = configFromArgs(
      [
        ['--domain', DOMAIN],
        ['--token', TOKEN],
        // Loopback here: the server and the phones are on this host.
        ['--listen', '127.0.0.1'],
        ['--sip-port', String(sipPort)],
        ['--evapi-port', String(evapiPort)],
        ['--rtpengine-ng-port', String(rtpengine.ngPort)],
        ['--children', '2'],
      ].flat(),
    );
    await writeFile(path.join(edgeDir, 'kamailio.cfg'), cfg, { mode: 0o600 });
    await startKamailio();

    s = await startMain({
      UCC_DEMO_PASSWORD: 'demo-pass',
      UCC_TURN: 'off',
      UCC_TELEPHONY: 'external',
      UCC_KAMAILIO_RPC_URL: `http://127.0.0.1:${sipPort}/RPC`,
      UCC_KAMAILIO_RPC_TOKEN: TOKEN,
      UCC_KAMAILIO_EVAPI: `127.0.0.1:${evapiPort}`,
      UCC_SIP_WS_URL: `ws://127.0.0.1:${sipPort}/ws`,
      UCC_SIP_DOMAIN: DOMAIN,
    });
    await waitReady(s, 180_000);
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.allSettled(phones.map((p) => p.stop()));
    if (s) await stopMain(s);
    await stopKamailio();
    await rtpengine?.stop();
    await rm(edgeDir, { recursive: true, force: true });
  });

  it('is ready with the external edge and starts no Kamailio or rtpengine of its own', async () => {
    const ready = await readiness(s);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.checks.telephony, { ok: true });
    assert.deepEqual(ready.checks.kamailio, { ok: true });
    assert.equal(ready.checks.rtpengine, undefined);
    const pid = s.child.pid ?? 0;
    assert.deepEqual(childrenOf(pid, 'kamailio'), []);
    assert.deepEqual(childrenOf(pid, 'rtpengine'), []);
    assert.deepEqual(processesMentioning(path.join(s.dataDir, 'kamailio')), []);
  });

  it('provisions the directory’s SIP credentials into it: desk phones register and call each other', async () => {
    const [tMario, tGiulia] = await Promise.all([login(s, '200', 'demo-pass'), login(s, '201', 'demo-pass')]);
    mario = await deskPhone(tMario, '200', 440);
    giulia = await deskPhone(tGiulia, '201', 660);
    await Promise.all([mario.next('REGISTER_OK'), giulia.next('REGISTER_OK')]);
    await callConnects();
  });

  it('answers 503 naming the edge while it is down, and provisions it again when it is back', async function () {
    this.timeout(90_000);
    const token = await login(s, '200', 'demo-pass');
    await stopKamailio();
    // Going down, the RPC may fail before the server sees the evapi connection close (the check then names the
    // RPC): wait for the state it settles in, the evapi connection gone.
    const down = await eventually('/readyz failing, naming evapi', 15_000, async () => {
      const r = await readiness(s);
      return r.status === 503 && /evapi connection/.test(r.checks.telephony?.error ?? '') ? r : undefined;
    });
    assert.match(
      down.checks.kamailio?.error ?? '',
      new RegExp(`JSON-RPC at http://127.0.0.1:${sipPort}/RPC`),
    );
    assert.match(
      down.checks.telephony?.error ?? '',
      new RegExp(`evapi connection to 127.0.0.1:${evapiPort}`),
    );
    const call = await api(s, 'POST', '/api/calls/click-to-call', { token, body: { number: '201' } });
    assert.equal(call.status, 503, JSON.stringify(call.body));
    assert.equal((call.body as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');

    // Back with an empty credentials table: the server pushes them again (readiness waits for that).
    await startKamailio();
    await eventually('/readyz ok again', 20_000, async () =>
      (await readiness(s)).status === 200 ? true : undefined,
    );
    await Promise.all([registerAgain(mario), registerAgain(giulia)]);
    await callConnects();
  });

  it('refuses to start with a bad external edge URL, naming the variable', async () => {
    const bad = await startMain({
      UCC_TELEPHONY: 'external',
      UCC_KAMAILIO_RPC_URL: 'not a url',
      UCC_KAMAILIO_RPC_TOKEN: TOKEN,
      UCC_KAMAILIO_EVAPI: '127.0.0.1',
      UCC_SIP_WS_URL: `http://127.0.0.1:${sipPort}/ws`,
    });
    const [code] = (await once(bad.child, 'exit')) as [number];
    await stopMain(bad);
    assert.equal(code, 1);
    const out = bad.output();
    assert.match(out, /Invalid configuration:/);
    assert.match(out, /UCC_KAMAILIO_RPC_URL: /);
    assert.match(out, /UCC_KAMAILIO_EVAPI: must be host:port/);
    assert.match(out, /UCC_SIP_WS_URL: /);
  });
});

/** What scripts/kamailio-config.ts prints for a customer's host: its listen addresses, checked by `kamailio -c`. */
describe('the printed config of a customer’s edge (scripts/kamailio-config.ts)', function () {
  this.timeout(30_000);
  let dir: string;
  const base = ['--domain', DOMAIN, '--token', TOKEN];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-edge-cfg-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `kamailio -c` of a config: its exit code and the "Listening on" lines it prints. */
  async function check(cfg: string): Promise<{ code: number; out: string }> {
    const file = path.join(dir, `k${Math.random().toString(36).slice(2)}.cfg`);
    await writeFile(file, cfg, { mode: 0o600 });
    const { config } = testStack();
    if (config.telephony.mode !== 'embedded')
      throw new Error('kamailio is not installed: run scripts/bootstrap');
    const child = spawn(config.telephony.kamailioBin, ['-c', '-f', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    return { code, out };
  }

  it('listens on this host’s first non-loopback IPv4 address by default, never on loopback', async () => {
    const cfg = configFromArgs(base);
    const listens = cfg.split('\n').filter((l) => l.startsWith('listen='));
    assert.equal(listens.length, 2, listens.join('\n'));
    const [ip] = /(\d+\.\d+\.\d+\.\d+):5060$/.exec(listens[0] ?? '')?.slice(1) ?? [];
    assert.ok(ip && !ip.startsWith('127.'), listens.join('\n'));
    assert.ok(cfg.includes(`modparam("evapi", "bind_addr", "${ip}:8448")`));
    const { code, out } = await check(cfg);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`udp: ${ip.replace(/\./g, '\\.')} \\[[^\\]]+\\]:5060`));
  });

  it('takes the listen, advertised, WS, WSS and evapi addresses as options; kamailio -c accepts them', async () => {
    const cert = path.join(dir, 'edge.crt');
    const key = path.join(dir, 'edge.key');
    await selfSigned(cert, key);
    const cfg = configFromArgs([
      ...base,
      ...['--listen', '127.0.0.2', '--sip-port', '5070', '--advertise', '198.51.100.7:5080'],
      ...['--ws-port', '8088', '--wss-port', '8443', '--tls-cert', cert, '--tls-key', key],
      ...['--evapi-listen', '127.0.0.3', '--evapi-port', '8449'],
    ]);
    assert.ok(cfg.includes('modparam("evapi", "bind_addr", "127.0.0.3:8449")'));
    assert.ok(cfg.includes('modparam("dialog", "bridge_contact", "sip:ucc-bridge@198.51.100.7:5080")'));
    const { code, out } = await check(cfg);
    assert.equal(code, 0, out);
    for (const line of [
      /udp: 127\.0\.0\.2 \[127\.0\.0\.2\]:5070 advertise 198\.51\.100\.7:5080/,
      /tcp: 127\.0\.0\.2 \[127\.0\.0\.2\]:5070 advertise 198\.51\.100\.7:5080/,
      /tcp: 127\.0\.0\.2 \[127\.0\.0\.2\]:8088 advertise 198\.51\.100\.7:8088/,
      /tls: 127\.0\.0\.2 \[127\.0\.0\.2\]:8443 advertise 198\.51\.100\.7:8443/,
    ]) {
      assert.match(out, line);
    }
    assert.doesNotMatch(out, /127\.0\.0\.1/);
  });

  it('refuses bad listen options, and --help documents every option', async () => {
    assert.throws(() => configFromArgs([...base, '--listen', 'eth0']), /--listen must be an IPv4 address/);
    assert.throws(() => configFromArgs([...base, '--wss-port', '8443']), /--wss-port needs --tls-cert/);
    assert.throws(() => configFromArgs([...base, '--advertise', 'a b']), /--advertise must be host\[:port\]/);
    const { USAGE } = await import('../../scripts/kamailio-config.js');
    for (const option of ['listen', 'sip-port', 'advertise', 'ws-port', 'wss-port', 'tls-cert', 'tls-key']) {
      assert.match(USAGE, new RegExp(`--${option} `), option);
    }
    for (const option of ['evapi-listen', 'evapi-port', 'rtpengine-ng-port', 'trunk', 'prefix', 'children']) {
      assert.match(USAGE, new RegExp(`--${option} `), option);
    }
  });

  it('keeps the embedded edge on loopback', () => {
    const cfg = kamailioConfig({
      sipPort: 5999,
      evapiPort: 5998,
      rtpengineNgPort: 5997,
      domain: DOMAIN,
      bridgeUser: 'ucc-bridge',
      rpcToken: TOKEN,
      noAnswerTimeoutMs: 30_000,
      children: 1,
      dialPlan: { country: 'IT', trunkUri: undefined, outboundPrefix: '' },
    });
    assert.deepEqual(
      cfg.split('\n').filter((l) => l.startsWith('listen=')),
      ['listen=udp:127.0.0.1:5999', 'listen=tcp:127.0.0.1:5999'],
    );
    assert.ok(cfg.includes('modparam("evapi", "bind_addr", "127.0.0.1:5998")'));
  });
});
