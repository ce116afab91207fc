import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPhoneEdge, type PhoneEdge } from '../harness/phoneEdge.js';
import { startServer, type ServerFixture } from '../harness/serverFixture.js';
import { testStack } from '../harness/testStack.js';

/** scripts/bootstrap installs schemathesis into Synapse's venv, next to its python. */
function schemathesisBin(): string {
  const python = testStack().config.stack?.synapsePython;
  if (!python) throw new Error('run scripts/bootstrap first: no Synapse venv');
  const bin = path.join(path.dirname(python), 'schemathesis');
  if (!existsSync(bin)) throw new Error(`run scripts/bootstrap first: ${bin} is missing`);
  return bin;
}

/**
 * Operations schemathesis must not call with the seeded admin's token, because a success would take the fixture
 * away from the rest of the run (random data almost never succeeds, but a run must not depend on luck):
 * - auth.changePassword: a new password ends the user's other sessions.
 * The seeded user's token names no session, so logout (of the refresh cookie, which schemathesis has none of)
 * cannot end it; deleting or disabling that user needs its id, which the fuzzer cannot guess, and the last
 * active administrator cannot be removed anyway; a PBX sync never disables administrators.
 */
const EXCLUDED_OPERATIONS = ['auth.changePassword'];

/** Checks that say the server kept its contract: no 5xx, documented statuses, bodies and content types. */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
];

/**
 * Real objects for the fuzzer to work on: without them every call with an id is a 404 and the bodies of
 * meeting, chat, contact and category updates are never read. Destructive calls (cancel, leave, remove a member,
 * delete a user, a contact or a category) keep random ids, so the seeded objects last the whole run. The file
 * routes of the Rubrica (import, export, the sample) get fewer examples: random bytes mostly meet the same 400.
 */
async function seededParameters(fx: ServerFixture, token: string): Promise<string> {
  const colleagues = await Promise.all([fx.createUser(), fx.createUser(), fx.createUser()]);
  const meeting = await fx.api('POST', '/api/meetings', {
    token,
    body: {
      title: 'Riunione di prova',
      startAt: new Date(Date.now() + 3_600_000).toISOString(),
      durationMinutes: 60,
      inviteeIds: [colleagues[0].id],
    },
  });
  assert.equal(meeting.status, 201, JSON.stringify(meeting.body));
  const { id: meetingId, guestUrl } = meeting.body as { id: string; guestUrl: string };
  const room = await fx.api('POST', '/api/chat/rooms', {
    token,
    body: { name: 'Gruppo di prova', memberIds: [colleagues[0].id, colleagues[1].id] },
  });
  assert.equal(room.status, 201, JSON.stringify(room.body));
  const { roomId } = room.body as { roomId: string };
  const sent = await fx.api('POST', `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
    token,
    body: { body: 'Ciao a tutti' },
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const { eventId } = sent.body as { eventId: string };
  const category = await fx.api('POST', '/api/categories', {
    token,
    body: { name: 'Fornitori di prova', public: true },
  });
  assert.equal(category.status, 201, JSON.stringify(category.body));
  const { id: categoryId } = category.body as { id: string };
  const contact = await fx.api('POST', '/api/contacts', {
    token,
    body: {
      lastName: 'Rossi',
      firstName: 'Mario',
      categoryId,
      numbers: [{ type: 'mobile', number: '+39 342 749 3700', speedDial: '71' }],
    },
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const { id: contactId } = contact.body as { id: string };
  const guestCode = guestUrl.slice(guestUrl.lastIndexOf('/') + 1);
  const toml = (value: string): string => JSON.stringify(value);
  const operation = (regex: string, parameters: Record<string, string>): string =>
    [
      '[[operations]]',
      `include-name-regex = ${toml(regex)}`,
      `parameters = { ${Object.entries(parameters)
        .map(([k, v]) => `"path.${k}" = ${toml(v)}`)
        .join(', ')} }`,
      '',
    ].join('\n');
  const fewer = (regex: string, examples: number): string =>
    [
      '[[operations]]',
      `include-name-regex = ${toml(regex)}`,
      `generation = { max-examples = ${examples} }`,
      '',
    ].join('\n');
  return [
    // Before the [[operations]] tables: the default for every operation without its own.
    'generation.max-examples = 10',
    '',
    operation('^(GET|PATCH) /api/meetings/\\{id\\}$|^POST /api/meetings/\\{id\\}/guest-link|invite\\.ics', {
      id: meetingId,
    }),
    operation('^(GET|POST) /api/guest/', { code: guestCode }),
    operation('^(GET|PATCH) /api/directory/users/', { id: colleagues[2].id }),
    operation(
      '^(GET|PATCH) /api/chat/rooms/\\{roomId\\}$|^POST /api/chat/rooms/\\{roomId\\}/(members|messages|read|typing|files)$|^GET /api/chat/rooms/\\{roomId\\}/messages$',
      { roomId },
    ),
    operation('^PUT /api/chat/rooms/\\{roomId\\}/messages/', { roomId, eventId }),
    operation('^(GET|PATCH) /api/contacts/\\{id\\}$|^(PUT|GET|DELETE) /api/contacts/\\{id\\}/image$', {
      id: contactId,
    }),
    operation('^(GET|PATCH) /api/categories/\\{id\\}$', { id: categoryId }),
    fewer('^(POST /api/contacts/import|GET /api/contacts/(export|sample\\.csv))$', 3),
  ].join('\n');
}

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

function run(bin: string, args: string[], cwd: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

describe('the OpenAPI contract against the live server (schemathesis)', () => {
  let fx: ServerFixture;
  let edge: PhoneEdge;
  let dir: string;

  before(async () => {
    // With the real phone edge: without one the PBX routes can only answer 503, which says nothing of them.
    edge = await startPhoneEdge();
    fx = await startServer({ kamailio: edge.kamailio.endpoint });
    dir = await mkdtemp(path.join(tmpdir(), 'ucc-schemathesis-'));
  });

  after(async () => {
    await fx.close();
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds no server error, undocumented status or off-schema answer on any operation', async function () {
    // Bounded: a few examples per operation and a time budget, on 2 shared cores.
    this.timeout(300_000);
    const admin = await fx.createUser({ role: 'admin', plan: 'pro' });
    const config = path.join(dir, 'schemathesis.toml');
    await writeFile(config, await seededParameters(fx, admin.token));
    const { code, output, ms } = await run(
      schemathesisBin(),
      [
        '--config-file',
        config,
        'run',
        `${fx.baseUrl}/api/openapi.json`,
        '--url',
        fx.baseUrl,
        '--header',
        `Authorization: Bearer ${admin.token}`,
        '--checks',
        CHECKS.join(','),
        '--phases',
        'examples,coverage,fuzzing',
        '--seed',
        '1',
        // One worker: CPython 3.11's ast module is not thread-safe, and hypothesis parses lambdas with it
        // ("AST constructor recursion depth mismatch" with two).
        '--workers',
        '1',
        '--request-timeout',
        '20',
        '--suppress-health-check',
        'all',
        ...EXCLUDED_OPERATIONS.flatMap((id) => ['--exclude-operation-id', id]),
        '--report',
        'junit',
        '--report-junit-path',
        path.join(dir, 'junit.xml'),
        '--output-truncate',
        'false',
      ],
      dir,
    );
    // The summary (operations, test cases, time) says what the run covered.
    const summary = output.slice(output.lastIndexOf('SUMMARY'));
    process.stdout.write(
      `      schemathesis ran ${(ms / 1000).toFixed(1)} s\n${summary.replace(/^/gm, '      ')}\n`,
    );
    assert.equal(code, 0, output);
    const junit = await readFile(path.join(dir, 'junit.xml'), 'utf8');
    assert.match(junit, /<testsuite /, 'schemathesis wrote no report');
  });
});
