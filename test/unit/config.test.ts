import assert from 'node:assert/strict';
import { ConfigError, loadConfig, type StackManifest } from '../../server/config.js';

const manifest: StackManifest = {
  mediasoupWorkerBin: process.execPath, // any file that exists
  ferretdbBin: '/nonexistent/ferretdb',
  synapsePython: '/nonexistent/python',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, manifest);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be refused');
}

describe('config', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({}, manifest);
    assert.equal(config.http.port, 3000);
    assert.equal(config.http.publicUrl, 'http://localhost:3000');
    assert.equal(config.matrix.mode, 'embedded');
    assert.equal(config.mongodbUri, undefined);
    assert.equal(config.mediasoup.listenIp, '127.0.0.1');
    assert.ok(config.mediasoup.numWorkers >= 1);
    assert.equal(config.admin, undefined);
  });

  it('restarts crashed children with a capped backoff and fails database calls fast, by default', () => {
    const config = loadConfig({}, manifest);
    assert.deepEqual(config.restart, { initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 60_000 });
    assert.deepEqual(config.db, { serverSelectionTimeoutMs: 1_000, socketTimeoutMs: 10_000 });
    const err = configError({ UCC_RESTART_INITIAL_DELAY_MS: '5000', UCC_RESTART_MAX_DELAY_MS: '1000' });
    assert.deepEqual(
      err.issues.map((i) => i.variable),
      ['UCC_RESTART_MAX_DELAY_MS'],
    );
  });

  it('reads the HTTP body limits and the metrics token, with sane defaults', () => {
    const defaults = loadConfig({}, manifest).http;
    assert.deepEqual(defaults.body, {
      publicJsonBytes: 8 * 1024,
      jsonBytes: 256 * 1024,
      bulkBytes: 8 * 1024 * 1024,
      jsonMaxDepth: 32,
    });
    assert.deepEqual(defaults.appserviceBody, { limitBytes: 20 * 1024 * 1024, maxDepth: 1000 });
    assert.equal(defaults.metricsToken, undefined);
    const set = loadConfig(
      { UCC_HTTP_JSON_MAX_BYTES: '65536', UCC_METRICS_TOKEN: 'a-long-enough-token' },
      manifest,
    ).http;
    assert.equal(set.body.jsonBytes, 65_536);
    assert.equal(set.metricsToken, 'a-long-enough-token');
    const err = configError({ UCC_METRICS_TOKEN: 'short', UCC_HTTP_JSON_MAX_DEPTH: '1' });
    assert.deepEqual(err.issues.map((i) => i.variable).sort(), [
      'UCC_HTTP_JSON_MAX_DEPTH',
      'UCC_METRICS_TOKEN',
    ]);
  });

  it('names the variable of a bad value', () => {
    const err = configError({ PORT: 'abc' });
    assert.deepEqual(
      err.issues.map((i) => i.variable),
      ['PORT'],
    );
    assert.match(err.message, /PORT/);
  });

  it('refuses a port out of range and an unknown log level together, naming both', () => {
    const err = configError({ PORT: '70000', LOG_LEVEL: 'loud' });
    assert.deepEqual(err.issues.map((i) => i.variable).sort(), ['LOG_LEVEL', 'PORT']);
  });

  it('requires the admin extension and password together', () => {
    const err = configError({ UCC_ADMIN_EXTENSION: '900' });
    assert.equal(err.issues[0]?.variable, 'UCC_ADMIN_PASSWORD');
    const ok = loadConfig({ UCC_ADMIN_EXTENSION: '900', UCC_ADMIN_PASSWORD: 'long enough' }, manifest);
    assert.deepEqual(ok.admin, { extension: '900', password: 'long enough' });
  });

  it('seeds the demo directory by default, not with UCC_DEMO_DIRECTORY=off, and refuses any other value', () => {
    assert.equal(loadConfig({}, manifest).demoDirectory, true);
    assert.equal(loadConfig({ UCC_DEMO_DIRECTORY: 'on' }, manifest).demoDirectory, true);
    assert.equal(loadConfig({ UCC_DEMO_DIRECTORY: 'off' }, manifest).demoDirectory, false);
    for (const bad of ['yes', 'OFF', '0', '']) {
      const err = configError({ UCC_DEMO_DIRECTORY: bad });
      assert.deepEqual(err.issues, [{ variable: 'UCC_DEMO_DIRECTORY', message: 'must be on or off' }], bad);
    }
  });

  it('reserves the dial-in extension 8000 by default; another must be digits, refused naming the variable', () => {
    assert.deepEqual(loadConfig({}, manifest).dialIn, {
      extension: '8000',
      attemptsPerCaller: 10,
      attemptsGlobal: 200,
      windowMs: 15 * 60_000,
    });
    // Empty is unset, as for the other optional variables.
    assert.equal(loadConfig({ UCC_DIALIN_EXTENSION: '' }, manifest).dialIn.extension, '8000');
    const set = loadConfig(
      {
        UCC_DIALIN_EXTENSION: ' 7900 ',
        UCC_RATE_LIMIT_DIALIN_PER_CALLER: '3',
        UCC_RATE_LIMIT_DIALIN_GLOBAL: '50',
      },
      manifest,
    ).dialIn;
    assert.deepEqual([set.extension, set.attemptsPerCaller, set.attemptsGlobal], ['7900', 3, 50]);
    for (const bad of ['80a0', '+8000', '8', '12345678901', '80 00']) {
      const err = configError({ UCC_DIALIN_EXTENSION: bad });
      assert.deepEqual(
        err.issues.map((i) => i.variable),
        ['UCC_DIALIN_EXTENSION'],
        bad,
      );
      assert.match(err.message, /UCC_DIALIN_EXTENSION: must be 2 to 10 digits/, bad);
    }
    assert.equal(
      configError({ UCC_RATE_LIMIT_DIALIN_GLOBAL: '0' }).issues[0]?.variable,
      'UCC_RATE_LIMIT_DIALIN_GLOBAL',
    );
  });

  it('requires the appservice tokens with an external homeserver, and then starts no Synapse', () => {
    const err = configError({ MATRIX_HOMESERVER_URL: 'https://matrix.example.org' });
    assert.deepEqual(err.issues.map((i) => i.variable).sort(), ['MATRIX_AS_TOKEN', 'MATRIX_HS_TOKEN']);
    const ok = loadConfig(
      { MATRIX_HOMESERVER_URL: 'https://matrix.example.org', MATRIX_AS_TOKEN: 'a', MATRIX_HS_TOKEN: 'h' },
      manifest,
    );
    assert.equal(ok.matrix.mode, 'external');
  });

  it('reads a customer Kamailio edge (UCC_TELEPHONY=external, or implied by its RPC URL), naming what is missing', () => {
    const edge = {
      UCC_KAMAILIO_RPC_URL: 'https://pbx.example.org:8443/RPC',
      UCC_KAMAILIO_RPC_TOKEN: 'a-long-rpc-token-0123456789',
      UCC_KAMAILIO_EVAPI: 'pbx.example.org:8448',
      UCC_SIP_WS_URL: 'wss://pbx.example.org/ws',
      UCC_SIP_DOMAIN: 'pbx.example.org',
    };
    const t = loadConfig(edge, manifest).telephony;
    assert.equal(t.mode, 'external');
    if (t.mode !== 'external') return;
    assert.deepEqual(t.evapi, { host: 'pbx.example.org', port: 8448 });
    // Our generated config serves SIP on the RPC's port: the default registrar.
    assert.deepEqual(t.sip, { host: 'pbx.example.org', port: 8443 });
    const withSip = loadConfig(
      { ...edge, UCC_KAMAILIO_SIP_URI: 'sip:sip.example.org:5070' },
      manifest,
    ).telephony;
    assert.deepEqual(withSip.mode === 'external' && withSip.sip, { host: 'sip.example.org', port: 5070 });

    const missing = configError({ UCC_TELEPHONY: 'external' });
    assert.deepEqual(missing.issues.map((i) => i.variable).sort(), [
      'UCC_KAMAILIO_EVAPI',
      'UCC_KAMAILIO_RPC_TOKEN',
      'UCC_KAMAILIO_RPC_URL',
      'UCC_SIP_DOMAIN',
      'UCC_SIP_WS_URL',
    ]);
    assert.match(missing.message, /UCC_KAMAILIO_RPC_URL: required with UCC_TELEPHONY=external/);
    const bad = configError({
      ...edge,
      UCC_SIP_WS_URL: 'https://pbx.example.org/ws',
      UCC_KAMAILIO_EVAPI: 'pbx',
    });
    assert.deepEqual(bad.issues.map((i) => i.variable).sort(), ['UCC_KAMAILIO_EVAPI', 'UCC_SIP_WS_URL']);
    assert.equal(configError({ UCC_TELEPHONY: 'asterisk' }).issues[0]?.variable, 'UCC_TELEPHONY');
  });

  it('refuses a MONGODB_URI that is not a mongodb URI', () => {
    assert.equal(configError({ MONGODB_URI: 'postgres://x' }).issues[0]?.variable, 'MONGODB_URI');
    assert.equal(
      loadConfig({ MONGODB_URI: 'mongodb://db:27017/ucc' }, manifest).mongodbUri,
      'mongodb://db:27017/ucc',
    );
  });

  it('needs an announced address when the SFU listens on every interface', () => {
    assert.equal(
      configError({ MEDIASOUP_LISTEN_IP: '0.0.0.0' }).issues[0]?.variable,
      'MEDIASOUP_ANNOUNCED_IP',
    );
    const ok = loadConfig(
      { MEDIASOUP_LISTEN_IP: '0.0.0.0', MEDIASOUP_ANNOUNCED_IP: '203.0.113.7' },
      manifest,
    );
    assert.equal(ok.mediasoup.announcedAddress, '203.0.113.7');
  });

  it('refuses a short JWT secret and a non-SMTP mail URL', () => {
    assert.deepEqual(
      configError({ UCC_JWT_SECRET: 'short', SMTP_URL: 'http://mail' })
        .issues.map((i) => i.variable)
        .sort(),
      ['SMTP_URL', 'UCC_JWT_SECRET'],
    );
    const ok = loadConfig({ SMTP_URL: 'smtp://mail.example.com:587' }, manifest);
    assert.equal(ok.mail.smtpUrl, 'smtp://mail.example.com:587');
    assert.equal(ok.auth.accessTtlMs, 15 * 60_000);
  });

  it('needs a secret with external TURN URLs, and starts the embedded coturn otherwise', () => {
    assert.deepEqual(
      configError({ TURN_URLS: 'turn:turn.example.com:3478' }).issues.map((i) => i.variable),
      ['TURN_SECRET'],
    );
    assert.equal(
      configError({ TURN_URLS: 'http://x', TURN_SECRET: 'long-enough-secret' }).issues[0]?.variable,
      'TURN_URLS',
    );
    assert.deepEqual(loadConfig({}, manifest).turn, { mode: 'embedded', credentialTtlMs: 3_600_000 });
    assert.deepEqual(loadConfig({ UCC_TURN: 'off' }, manifest).turn, { mode: 'off' });
  });

  it('refuses a worker binary that does not exist', () => {
    assert.equal(
      configError({ MEDIASOUP_WORKER_BIN: '/nonexistent/worker' }).issues[0]?.variable,
      'MEDIASOUP_WORKER_BIN',
    );
  });

  it('bounds socket connections and media per participant by default, and refuses a cap below what a client needs', () => {
    const config = loadConfig({}, manifest);
    assert.deepEqual(config.signaling, {
      maxMessageBytes: 262_144,
      requestsPerSecond: 50,
      requestBurst: 200,
      disconnectAfterRefused: 200,
      maxPayloadDepth: 10,
      maxPayloadNodes: 2_000,
    });
    assert.equal(config.mediasoup.maxTransportsPerParticipant, 4);
    assert.equal(
      loadConfig({ UCC_SOCKET_REQUESTS_PER_SECOND: '5' }, manifest).signaling.requestsPerSecond,
      5,
    );
    // A send and a receive transport are the least a participant needs.
    assert.equal(
      configError({ UCC_MEDIA_MAX_TRANSPORTS: '1' }).issues[0]?.variable,
      'UCC_MEDIA_MAX_TRANSPORTS',
    );
    assert.equal(
      configError({ UCC_SOCKET_REQUEST_BURST: '0' }).issues[0]?.variable,
      'UCC_SOCKET_REQUEST_BURST',
    );
  });
});
