import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import path from 'node:path';

/** One event of baresip's ctrl_tcp (`{"event":true,"type":"CALL_INCOMING",...}`). */
export interface PhoneEvent {
  type: string;
  param?: string;
  peeruri?: string;
  id?: string;
  accountaor?: string;
}

export interface PhoneOptions {
  /** Where the phone's config, tone and recordings go. */
  dir: string;
  extension: string;
  password: string;
  domain: string;
  /** Kamailio's SIP port on loopback. */
  proxyPort: number;
  /** The tone this phone sends in calls (a WAV written here, 8 kHz mono for PCMA). */
  toneHz: number;
  toneMs: number;
  /**
   * A carrier's gateway instead of a desk phone: no registration; it answers only calls whose request URI is
   * `sip:<extension>@127.0.0.1:<sipPort>` (baresip refuses any other user), so a call it gets proves the URI.
   */
  carrier?: boolean;
  /**
   * Sends back what it hears (its player and source joined by `aubridge`) instead of the tone: its `enc`
   * recording is then what it heard, and goes on after a hold, where the `dec` one stops (see echoFromNow).
   */
  echo?: boolean;
}

/**
 * A desk phone for tests: baresip 1.0 driven over ctrl_tcp. It registers with digest auth through Kamailio, sends a
 * sine tone from a WAV through `aufile` in every call (the call ends when the file does), and records what it
 * hears with `sndfile`. Waits are on its events, never on sleeps.
 */
export class BaresipPhone {
  /** Every phone started and not stopped yet: see stopAll. */
  static readonly #live = new Set<BaresipPhone>();
  readonly extension: string;
  /** Where it listens for SIP over UDP on loopback. */
  readonly sipPort: number;
  readonly #options: PhoneOptions;
  readonly #child: ChildProcess;
  readonly #socket: Socket;
  readonly #events: PhoneEvent[] = [];
  /** The last events, consumed or not, for failure messages. */
  readonly #history: string[] = [];
  readonly #waiters = new Set<() => void>();
  #nextToken = 1;
  /** The aubridge device of the echo: a fresh name at each rewiring (see echoFromNow). */
  #echoDevice = 0;
  readonly #responses = new Map<string, (r: { ok: boolean; data: string }) => void>();
  #output = '';
  #exited = false;
  /** The accounts baresip holds for this phone: 0 after unregister(), else 1 (2 for a moment in reRegister). */
  #accounts = 0;

  private constructor(options: PhoneOptions, child: ChildProcess, socket: Socket, sipPort: number) {
    this.#options = options;
    this.extension = options.extension;
    this.sipPort = sipPort;
    this.#child = child;
    this.#socket = socket;
    child.stdout?.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-4000)));
    child.once('exit', () => (this.#exited = true));
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const colon = buffer.indexOf(0x3a);
        if (colon < 0) break;
        const length = Number(buffer.subarray(0, colon).toString());
        if (buffer.length < colon + 2 + length) break;
        const msg = JSON.parse(buffer.subarray(colon + 1, colon + 1 + length).toString()) as Record<
          string,
          unknown
        >;
        buffer = buffer.subarray(colon + 2 + length);
        this.#onMessage(msg);
      }
    });
    socket.on('error', () => undefined);
  }

  static async start(options: PhoneOptions): Promise<BaresipPhone> {
    await rm(options.dir, { recursive: true, force: true });
    await mkdir(path.join(options.dir, 'rec'), { recursive: true });
    const tone = path.join(options.dir, 'tone.wav');
    await writeFile(tone, sineWav(options.toneHz, options.toneMs, 8000));
    // No account at start: it is added over ctrl_tcp once connected, so that no REGISTER event is missed.
    await writeFile(path.join(options.dir, 'accounts'), '', { mode: 0o600 });
    // The ports are checked free but bound only later by baresip: a mediasoup or coturn socket of another test can
    // take one meanwhile, and baresip then exits. A fresh set of ports is tried when that happens.
    const failures: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const started = await BaresipPhone.#attempt(options, tone);
      if (started instanceof BaresipPhone) {
        await started.command('uanew', accountLine(options, started.sipPort));
        started.#accounts = 1;
        BaresipPhone.#live.add(started);
        return started;
      }
      failures.push(`attempt ${attempt}: ${started}`);
    }
    throw new Error(`baresip for ${options.extension} did not start:\n${failures.join('\n')}`);
  }

  /** One start of baresip on fresh ports: the phone, or why it failed. */
  static async #attempt(options: PhoneOptions, tone: string): Promise<BaresipPhone | string> {
    const { sipPort, ctrlPort } = await phonePorts();
    const rtpBase = 30_000 + Math.floor(Math.random() * 300) * 100;
    await writeFile(
      path.join(options.dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen 127.0.0.1:${sipPort}`,
        'sip_transports udp',
        'audio_player aubridge,nowhere',
        `audio_source aufile,${tone}`,
        'audio_alert aubridge,nowhere',
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        'module aufile.so',
        'module aubridge.so',
        'module sndfile.so',
        'module_app account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        `snd_path ${path.join(options.dir, 'rec')}`,
        `rtp_ports ${rtpBase}-${rtpBase + 99}`,
        '',
      ].join('\n'),
    );
    const child = spawn('baresip', ['-f', options.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-1500));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await once(child, 'spawn');
    const deadline = Date.now() + 15_000;
    for (;;) {
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port: ctrlPort }, () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (socket) {
        child.stdout.off('data', keep);
        child.stderr.off('data', keep);
        return new BaresipPhone(options, child, socket, sipPort);
      }
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
        const how =
          child.exitCode !== null || child.signalCode !== null
            ? `exited (${child.exitCode ?? child.signalCode})`
            : 'still running after 15 s';
        child.kill('SIGKILL');
        return `no ctrl_tcp on ${ctrlPort} (SIP ${sipPort}), baresip ${how}; output: ${output.trim().slice(-600)}`;
      }
      await new Promise((r) => setTimeout(r, 50)); // polling a port that is not open yet
    }
  }

  #onMessage(msg: Record<string, unknown>): void {
    if (msg.response === true && typeof msg.token === 'string') {
      this.#responses.get(msg.token)?.({
        ok: msg.ok === true,
        data: typeof msg.data === 'string' ? msg.data : '',
      });
      this.#responses.delete(msg.token);
      return;
    }
    if (msg.event === true && typeof msg.type === 'string') {
      const event: PhoneEvent = { type: msg.type };
      for (const key of ['param', 'peeruri', 'id', 'accountaor'] as const) {
        if (typeof msg[key] === 'string') event[key] = msg[key];
      }
      this.#events.push(event);
      this.#history.push(`${event.type}(${event.param ?? ''})`);
      if (this.#history.length > 20) this.#history.shift();
      for (const wake of [...this.#waiters]) wake();
    }
  }

  /** Sends a menu command (`dial`, `accept`, `hangup`, `uanew`, ...) and waits for its response. */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }> {
    const token = String(this.#nextToken++);
    const json = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    return new Promise((resolve) => {
      this.#responses.set(token, resolve);
      this.#socket.write(`${Buffer.byteLength(json)}:${json},`);
    });
  }

  /** The next event (after those already consumed) matching `types`; events are consumed in order. */
  async next(types: string | string[], timeoutMs = 15_000): Promise<PhoneEvent> {
    const wanted = Array.isArray(types) ? types : [types];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#events.findIndex((e) => wanted.includes(e.type));
      if (index >= 0) {
        const [event] = this.#events.splice(0, index + 1).slice(-1);
        if (event) return event;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#exited) {
        throw new Error(
          `${this.extension}: no ${wanted.join('|')} within ${timeoutMs} ms; ` +
            `recent events: ${this.#history.join(' ')}; output: ${this.#output.slice(-600)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }

  /** Every event this phone reported and the tail of its output: what a failing test prints of it. */
  report(): string {
    return `${this.extension}: events ${this.#history.join(' ')}; output: ${this.#output.slice(-600)}`;
  }

  /** Drops the events seen so far (a test starts from a clean slate). */
  clearEvents(): void {
    this.#events.length = 0;
  }

  dial(target: string): Promise<{ ok: boolean; data: string }> {
    return this.command('dial', target.includes('@') ? target : `sip:${target}@${this.#options.domain}`);
  }

  /**
   * Re-creates the account: a fresh REGISTER, as a phone does when it reboots. The new account is made before the
   * old one goes: baresip names the Contact after the account's address in memory (`<user>-<pointer>`), so an
   * account made after the old one is freed gets the same Contact, and the old account's un-REGISTER, when
   * Kamailio's workers save it after the new REGISTER, deletes the new binding. Made first, it has a Contact of
   * its own, and the two requests may land in any order.
   */
  async reRegister(password = this.#options.password): Promise<void> {
    this.#options.password = password;
    await this.command('uanew', accountLine(this.#options, this.sipPort));
    this.#accounts++;
    // uadel takes the oldest account of that address: the one made before.
    if (this.#accounts > 1) await this.unregister();
  }

  /** Deletes the account: baresip sends its un-REGISTER. */
  async unregister(): Promise<void> {
    await this.command('uadel', `sip:${this.extension}@${this.#options.domain}`);
    this.#accounts = Math.max(0, this.#accounts - 1);
  }

  /**
   * The newest recording of what this phone heard (sndfile's `-dec.wav`), or of what it sent (`enc`: for an echo
   * phone, what it heard too).
   */
  async lastRecording(kind: 'dec' | 'enc' = 'dec'): Promise<Buffer> {
    const dir = path.join(this.#options.dir, 'rec');
    const files = (await readdir(dir)).filter((f) => f.endsWith(`-${kind}.wav`)).sort();
    const last = files.at(-1);
    if (!last) throw new Error(`${this.extension}: no recording`);
    return readFile(path.join(dir, last));
  }

  /**
   * An echo phone sends back, and records in its `enc` recording, what it hears from now on; returns where that
   * recording is now (s). Needed after each re-INVITE that changes the direction (a hold): baresip 1.0 then
   * restarts its player, aubridge unpairs the player from the source and the echo stops (so does the `dec`
   * recording, for good: its filters are not set up again). Both are moved to a fresh aubridge device, where
   * they pair again; the call's SIP and RTP are not touched.
   */
  async echoFromNow(): Promise<number> {
    if (!this.#options.echo) throw new Error(`${this.extension} is not an echo phone`);
    const device = `aubridge,echo-${this.extension}-${++this.#echoDevice}`;
    for (const command of ['ausrc', 'auplay']) {
      const r = await this.command(command, device);
      if (!r.ok) throw new Error(`${this.extension}: ${command} ${device}: ${r.data}`);
    }
    return wavSeconds(await this.lastRecording('enc'));
  }

  /**
   * RTP packets the phone has received in the current call, from every source (baresip's `audio_debug`, the
   * `rcvd=` of each RTCP member): whether packets reach it, whatever they hold.
   */
  async rtpReceived(): Promise<number> {
    const { data } = await this.command('audio_debug');
    return [...data.matchAll(/\brcvd=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  async clearRecordings(): Promise<void> {
    const dir = path.join(this.#options.dir, 'rec');
    for (const f of await readdir(dir)) await rm(path.join(dir, f), { force: true });
  }

  /**
   * Stops the phones a suite left running (a hook that failed before its teardown): their processes and sockets
   * would otherwise keep mocha from exiting once the suite is done. Resolves with their extensions.
   */
  static async stopAll(): Promise<string[]> {
    const left = [...BaresipPhone.#live];
    await Promise.all(left.map((phone) => phone.stop()));
    return left.map((phone) => phone.extension);
  }

  async stop(): Promise<void> {
    BaresipPhone.#live.delete(this);
    this.#socket.destroy();
    if (this.#exited) return;
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Where baresip's ports are drawn: below rtpengine's (20000+) and the kernel's ephemeral range (32768+). */
const PHONE_PORTS = { min: 12_000, max: 19_997 };

/**
 * Ports for one phone: SIP on UDP and TCP, TLS on the SIP port + 1 (baresip 1.0 always opens all three, whatever
 * `sip_transports` says) and ctrl_tcp on + 2. Outside the ephemeral range, because a client socket there, or one
 * of the thousands in TIME_WAIT after the API fuzzer, can hold the port after a free one: the kernel checks only
 * the port it hands out, and Node's test bind (SO_REUSEADDR) does not see TIME_WAIT, where baresip's bind fails.
 */
async function phonePorts(): Promise<{ sipPort: number; ctrlPort: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const sipPort = PHONE_PORTS.min + randomInt(PHONE_PORTS.max - PHONE_PORTS.min);
    const free = await Promise.all([
      bindable('udp4', sipPort),
      bindable('tcp', sipPort),
      bindable('tcp', sipPort + 1),
      bindable('tcp', sipPort + 2),
    ]);
    if (free.every(Boolean)) return { sipPort, ctrlPort: sipPort + 2 };
  }
  throw new Error(`no three free ports in a row for a phone in ${PHONE_PORTS.min}-${PHONE_PORTS.max}`);
}

function bindable(kind: 'tcp' | 'udp4', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'udp4') {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
      return;
    }
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function accountLine(o: PhoneOptions, sipPort: number): string {
  if (o.carrier) return `<sip:${o.extension}@127.0.0.1:${sipPort}>;regint=0;audio_codecs=PCMA`;
  const echo = o.echo
    ? `;audio_source=aubridge,echo-${o.extension};audio_player=aubridge,echo-${o.extension}`
    : '';
  return (
    `<sip:${o.extension}@${o.domain}>;auth_pass=${o.password};` +
    `outbound="sip:127.0.0.1:${o.proxyPort};transport=udp";regint=600;audio_codecs=PCMA${echo}`
  );
}

/** A 16-bit mono PCM WAV holding a sine of `hz`. */
export function sineWav(hz: number, ms: number, rate: number): Buffer {
  const samples = Math.round((rate * ms) / 1000);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/**
 * The strongest of `candidates` (Hz) in a 16-bit mono WAV, by the power of a single-bin DFT at each, and the
 * seconds of audio. Skips the header by finding the `data` chunk.
 */
export function dominantTone(
  wav: Buffer,
  candidates: number[],
): { hz: number; seconds: number; ratio: number } {
  const dataAt = wav.indexOf('data', 12);
  if (dataAt < 0) throw new Error('not a WAV file');
  const rate = wav.readUInt32LE(24);
  const channels = wav.readUInt16LE(22);
  const samples: number[] = [];
  for (let o = dataAt + 8; o + 2 <= wav.length; o += 2 * channels) samples.push(wav.readInt16LE(o));
  const power = (hz: number): number => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < samples.length; i++) {
      const a = (2 * Math.PI * hz * i) / rate;
      const s = samples[i] ?? 0;
      re += s * Math.cos(a);
      im -= s * Math.sin(a);
    }
    return re * re + im * im;
  };
  const powers = candidates.map((hz) => ({ hz, p: power(hz) })).sort((a, b) => b.p - a.p);
  const best = powers[0];
  const second = powers[1];
  if (!best) throw new Error('no candidates');
  return {
    hz: best.hz,
    seconds: samples.length / rate,
    ratio: second ? best.p / Math.max(1, second.p) : Infinity,
  };
}

/**
 * The part of a 16-bit WAV from `fromSeconds` on, as a WAV again (for dominantTone on a stretch of a recording
 * that is still being written: sndfile writes as it decodes, the header's lengths are filled in only at the end).
 */
export function wavFrom(wav: Buffer, fromSeconds: number): Buffer {
  const dataAt = wav.indexOf('data', 12);
  if (dataAt < 0) throw new Error('not a WAV file');
  const rate = wav.readUInt32LE(24);
  const frame = 2 * wav.readUInt16LE(22);
  const start = dataAt + 8 + Math.floor(fromSeconds * rate) * frame;
  const end = dataAt + 8 + Math.floor((wav.length - dataAt - 8) / frame) * frame;
  return Buffer.concat([wav.subarray(0, dataAt + 8), wav.subarray(Math.min(start, end), end)]);
}

/** Seconds of audio in a 16-bit WAV, from its size (see wavFrom). */
export function wavSeconds(wav: Buffer): number {
  const dataAt = wav.indexOf('data', 12);
  if (dataAt < 0) throw new Error('not a WAV file');
  return (wav.length - dataAt - 8) / (2 * wav.readUInt16LE(22) * wav.readUInt32LE(24));
}

/** The root mean square of the samples of a 16-bit WAV (the tones here are 8000 peak, about 5700 RMS). */
export function wavRms(wav: Buffer): number {
  const dataAt = wav.indexOf('data', 12);
  if (dataAt < 0) throw new Error('not a WAV file');
  let sum = 0;
  let n = 0;
  for (let o = dataAt + 8; o + 2 <= wav.length; o += 2, n++) sum += wav.readInt16LE(o) ** 2;
  return n === 0 ? 0 : Math.sqrt(sum / n);
}
