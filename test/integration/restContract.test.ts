import assert from 'node:assert/strict';
import {
  categoryRoutes,
  chatRoutes,
  contactRoutes,
  directoryRoutes,
  metaRoutes,
  phoneSearchRoutes,
} from '../../shared/rest/contract.js';
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

  it('answers the Rubrica (a category, a contact, the list, an import preview, the search) with typed bodies', async () => {
    const admin = await fx.createUser({ role: 'admin' });
    const auth = { token: admin.token };
    const category = expectStatus(
      await call(categoryRoutes.create, { body: { name: 'Fornitori', public: true } }, auth),
      201,
    );
    const contact = expectStatus(
      await call(
        contactRoutes.create,
        {
          body: {
            lastName: 'Rossi',
            categoryId: category.body.id,
            numbers: [{ type: 'mobile', number: '+39 342 749 3700' }],
          },
        },
        auth,
      ),
      201,
    );
    assert.equal(contact.body.numbers[0]?.normalized, '+393427493700');
    const list = expectStatus(await call(contactRoutes.list, { query: { q: 'rossi' } }, auth), 200);
    assert.deepEqual(
      list.body.items.map((c) => c.id),
      [contact.body.id],
    );
    const preview = expectStatus(
      await call(
        contactRoutes.import,
        { query: { format: 'vcard', dryRun: '1' } },
        {
          ...auth,
          raw: {
            data: 'BEGIN:VCARD\r\nVERSION:3.0\r\nN:Bianchi;Anna;;;\r\nEND:VCARD\r\n',
            type: 'text/vcard',
          },
        },
      ),
      200,
    );
    assert.deepEqual([preview.body.dryRun, preview.body.created], [true, 1]);
    // A type the contract does not list for the file is refused before the body is read.
    const refused = await call(
      contactRoutes.import,
      { query: { format: 'vcard' } },
      { ...auth, raw: { data: 'x', type: 'image/png' } },
    );
    assert.equal(refused.status, 415, JSON.stringify(refused.body));
    const hits = expectStatus(
      await call(phoneSearchRoutes.search, { query: { q: '3427493700' } }, auth),
      200,
    );
    assert.deepEqual(
      hits.body.items.map((h) => [h.name, h.dial, h.categoryName]),
      [['Rossi', '+393427493700', 'Fornitori']],
    );
    const exported = expectStatus(
      await call(contactRoutes.export, { query: { format: 'vcard', ids: contact.body.id } }, auth),
      200,
    );
    // Was text/x-vcard: the attachment's .vcf extension overrode the type.
    assert.equal(exported.headers.get('content-type'), 'text/vcard; charset=utf-8');
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
