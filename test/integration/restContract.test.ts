import assert from 'node:assert/strict';
import { chatRoutes, directoryRoutes, metaRoutes } from '../../shared/rest/contract.js';
import { openApiText } from '../../scripts/openapi.js';
import { expectStatus, restClient } from '../harness/restClient.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';

describe('the REST contract on the live server', () => {
  let fx: ServerFixture;
  let call: ReturnType<typeof restClient>;
  let me: TestUser;

  before(async () => {
    fx = await startServer();
    call = restClient(fx.baseUrl);
    me = await fx.createUser({ firstName: 'Giulia', lastName: 'Conti' });
  });

  after(async () => {
    await fx.close();
  });

  it('serves the OpenAPI document at GET /api/openapi.json, without a token, as checked in', async () => {
    const res = expectStatus(await call(metaRoutes.openapi, {}), 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body as string), JSON.parse(openApiText()));
  });

  it('answers a directory search with a body the contract types', async () => {
    const res = expectStatus(
      await call(directoryRoutes.search, { query: { q: 'Conti' } }, { token: me.token }),
      200,
    );
    assert.deepEqual(
      res.body.items.map((u) => u.displayName),
      ['Conti Giulia'],
    );
  });

  // Found by schemathesis: the file went to Synapse as multipart/form-data, which its web server parses as a
  // form and refuses; that came back as a 500.
  it('refuses a chat file sent as multipart/form-data with 415, not 500', async () => {
    const other = await fx.createUser();
    const dm = expectStatus(
      await call(chatRoutes.openDm, { body: { userId: other.id } }, { token: me.token }),
      201,
    );
    const res = await call(
      chatRoutes.upload,
      { params: { roomId: dm.body.roomId }, query: { name: 'foto.png' } },
      {
        token: me.token,
        raw: { data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), type: 'multipart/form-data' },
      },
    );
    assert.equal(res.status, 415, JSON.stringify(res.body));
  });
});
