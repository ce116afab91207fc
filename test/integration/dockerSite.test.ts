import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DOCKER = path.join(ROOT, 'docker');

/** The variables scripts/docker-secrets generates (a random value each, never overwritten). */
const SECRETS = [
  'UCC_JWT_SECRET',
  'UCC_ADMIN_PASSWORD',
  'UCC_METRICS_TOKEN',
  'MATRIX_AS_TOKEN',
  'MATRIX_HS_TOKEN',
  'SYNAPSE_REGISTRATION_SHARED_SECRET',
  'SYNAPSE_MACAROON_SECRET_KEY',
  'SYNAPSE_FORM_SECRET',
  'TURN_SECRET',
  'MONGO_PASSWORD',
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'UCC_KAMAILIO_RPC_TOKEN',
];

interface ComposeService {
  network_mode?: string;
  profiles?: string[];
  image?: string;
  environment?: Record<string, string>;
}

/** `.env` as compose reads it: the last assignment of a name wins. */
function readEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) env.set(m[1], m[2] ?? '');
  }
  return env;
}

/**
 * The production site of docker/compose.yaml as an operator prepares it: scripts/docker-secrets in a site dir of
 * its own, then docker-compose (Debian's 1.29) reading the file with that .env. No engine is needed for this.
 */
describe('the compose site: docker-secrets and docker/compose.yaml', () => {
  let site: string;
  let env: Map<string, string>;

  async function secrets(): Promise<void> {
    await execFileAsync('bash', [path.join(ROOT, 'scripts/docker-secrets'), site]);
  }

  async function compose(envFile: string, ...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(
      'docker-compose',
      [
        '--project-directory',
        DOCKER,
        '-f',
        path.join(DOCKER, 'compose.yaml'),
        '--env-file',
        envFile,
        ...args,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }

  before(async () => {
    site = await mkdtemp(path.join(tmpdir(), 'ucc-site-'));
    await copyFile(path.join(DOCKER, '.env.example'), path.join(site, '.env.example'));
    await secrets();
    env = readEnv(await readFile(path.join(site, '.env'), 'utf8'));
  });

  after(async () => {
    await rm(site, { recursive: true, force: true });
  });

  it('generates every secret once: each random and distinct, kept by a second run, every file 0600', async () => {
    const values = SECRETS.map((name) => env.get(name) ?? '');
    for (const [i, value] of values.entries()) {
      assert.ok(value.length >= 16, `${SECRETS[i]} is generated (${value.length} characters)`);
    }
    assert.equal(new Set(values).size, values.length, 'no two secrets alike');
    await secrets();
    const again = readEnv(await readFile(path.join(site, '.env'), 'utf8'));
    assert.deepEqual(
      SECRETS.map((name) => again.get(name)),
      values,
      'a second run keeps them',
    );
    const files = [
      '.env',
      ...(await readdir(path.join(site, 'secrets'))).map((f) => path.join('secrets', f)),
    ];
    for (const file of files) {
      assert.equal((await stat(path.join(site, file))).mode & 0o777, 0o600, `${file} is 0600`);
    }
  });

  it("writes each service's config with the .env's secrets: Redis, coturn, Synapse's database and registration", async () => {
    const read = (file: string): Promise<string> => readFile(path.join(site, file), 'utf8');
    assert.match(
      await read('secrets/redis.conf'),
      new RegExp(`^requirepass ${env.get('REDIS_PASSWORD')}$`, 'm'),
    );
    assert.match(await read('secrets/redis.conf'), /^bind 127\.0\.0\.1$/m);
    assert.match(
      await read('secrets/turnserver.conf'),
      new RegExp(`^static-auth-secret=${env.get('TURN_SECRET')}$`, 'm'),
    );
    const registration = parse(await read('synapse/appservice.yaml')) as Record<string, unknown>;
    assert.equal(registration.as_token, env.get('MATRIX_AS_TOKEN'));
    assert.equal(registration.hs_token, env.get('MATRIX_HS_TOKEN'));
    const homeserver = parse(await read('synapse/homeserver.yaml')) as {
      server_name: string;
      database: { name: string; args: { password: string } };
    };
    assert.equal(homeserver.server_name, env.get('MATRIX_SERVER_NAME'));
    assert.equal(homeserver.database.name, 'psycopg2');
    assert.equal(homeserver.database.args.password, env.get('POSTGRES_PASSWORD'));
    assert.ok((await read('secrets/kamailio.cfg')).includes(env.get('UCC_KAMAILIO_RPC_TOKEN') ?? '-'));
  });

  it('docker-compose reads the production file: every service on the host network, the server given the site’s services and secrets', async () => {
    const config = parse(await compose(path.join(site, '.env'), 'config')) as {
      services: Record<string, ComposeService>;
    };
    const names = Object.keys(config.services).sort();
    assert.deepEqual(names, [
      'coturn',
      'kamailio',
      'mongo',
      'mongo-init',
      'postgres',
      'proxy',
      'redis',
      'rtpengine',
      'synapse',
      'ucc',
      'ucc-2',
    ]);
    // The second node only where asked for: `--profile scale`.
    assert.deepEqual(config.services['ucc-2']?.profiles, ['scale']);
    assert.equal(config.services.ucc?.profiles, undefined);
    for (const name of names) assert.equal(config.services[name]?.network_mode, 'host', name);
    const ucc = config.services.ucc?.environment ?? {};
    assert.equal(ucc.PUBLIC_URL, `https://${env.get('UCC_DOMAIN')}`);
    assert.equal(ucc.UCC_JWT_SECRET, env.get('UCC_JWT_SECRET'));
    assert.ok(ucc.MONGODB_URI?.includes(`:${env.get('MONGO_PASSWORD')}@127.0.0.1:27017/`), 'MONGODB_URI');
    assert.ok(ucc.REDIS_URL?.includes(`:${env.get('REDIS_PASSWORD')}@127.0.0.1:6379`), 'REDIS_URL');
    assert.equal(ucc.MATRIX_AS_TOKEN, env.get('MATRIX_AS_TOKEN'));
    assert.equal(ucc.UCC_KAMAILIO_RPC_TOKEN, env.get('UCC_KAMAILIO_RPC_TOKEN'));
    assert.equal(ucc.MEDIASOUP_ANNOUNCED_IP, env.get('PUBLIC_IP'));
    assert.equal(ucc.HOST, '127.0.0.1', 'the server listens on loopback, behind the proxy');
    assert.equal(ucc.UCC_DEMO_DIRECTORY, 'off', 'no demo users in production');
  });

  it('the second node of the scale profile has its own HTTP and WebRTC ports, and shares the image, Redis and the database', async () => {
    const config = parse(await compose(path.join(site, '.env'), '--profile', 'scale', 'config')) as {
      services: Record<string, ComposeService>;
    };
    const [one, two] = [config.services.ucc?.environment, config.services['ucc-2']?.environment];
    assert.ok(one && two, 'ucc and ucc-2');
    assert.equal(two.REDIS_URL, one.REDIS_URL, 'one Redis for both');
    assert.equal(two.MONGODB_URI, one.MONGODB_URI, 'one database for both');
    assert.notEqual(two.PORT, one.PORT);
    assert.notEqual(two.MEDIASOUP_WEBRTC_PORT, one.MEDIASOUP_WEBRTC_PORT);
    assert.equal(config.services['ucc-2']?.image, config.services.ucc?.image, 'one image');
  });

  it('refuses a site whose .env lacks a secret, saying to run docker-secrets', async () => {
    const text = await readFile(path.join(site, '.env'), 'utf8');
    const broken = path.join(site, 'broken.env');
    await writeFile(broken, text.replace(/^UCC_JWT_SECRET=.*$/m, 'UCC_JWT_SECRET='), { mode: 0o600 });
    await assert.rejects(compose(broken, 'config'), (err: { stderr?: string }) => {
      assert.match(err.stderr ?? '', /UCC_JWT_SECRET/);
      assert.match(err.stderr ?? '', /run scripts\/docker-secrets/);
      return true;
    });
  });
});
