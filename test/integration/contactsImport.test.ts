import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Category, Contact, ContactPage, ImportReport } from '../../shared/schemas/contacts.js';
import { REPO_ROOT } from '../../server/config.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';

interface ErrorBody {
  error: { code: string; message: string };
}

type Res = Awaited<ReturnType<ServerFixture['api']>>;

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'contacts');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));

function ok<T>(res: Res, status = 200): T {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body as T;
}

function fails(res: Res, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal((res.body as ErrorBody).error.code, code);
}

/** What a contact is, for comparing an export re-imported with the original. */
function essence(c: Contact, { speedDials = true } = {}) {
  return {
    lastName: c.lastName,
    firstName: c.firstName,
    company: c.company,
    notes: c.notes,
    personal: c.personal,
    categoryName: c.categoryName,
    numbers: c.numbers
      .map((n) => ({
        type: n.type,
        number: n.number,
        ...(speedDials && n.speedDial ? { speedDial: n.speedDial } : {}),
      }))
      .sort((a, b) => a.number.localeCompare(b.number)),
  };
}

describe('Rubrica: import and export', () => {
  let fx: ServerFixture;
  let admin: TestUser;
  let member: TestUser;
  let clienti: Category;

  /** POSTs a file as the browser would: raw bytes with a type. */
  const upload = async (query: string, data: Buffer, token = admin.token, type = 'text/csv') => {
    const res = await fetch(`${fx.baseUrl}/api/contacts/import?${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
      body: new Uint8Array(data),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
  };

  const all = async (token = admin.token): Promise<Contact[]> =>
    ok<ContactPage>(await fx.api('GET', '/api/contacts?pageSize=200&sort=lastName', { token })).items;

  const download = async (query: string, token = admin.token): Promise<{ type: string; body: Buffer }> => {
    const res = await fetch(`${fx.baseUrl}/api/contacts/export?${query}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    return { type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
  };

  beforeEach(async () => {
    fx = await startServer();
    admin = await fx.createUser({ role: 'admin' });
    member = await fx.createUser();
    clienti = ok<Category>(
      await fx.api('POST', '/api/categories', {
        token: admin.token,
        body: { name: 'Clienti', memberships: [{ userId: member.id, editContacts: true }] },
      }),
      201,
    );
  });

  afterEach(async () => {
    await fx.close();
  });

  it('imports an English Outlook CSV, reporting every row, and a dry run writes nothing', async () => {
    const dry = ok<ImportReport>(await upload('format=outlook&dryRun=1', fixture('outlook-en-comma.csv')));
    assert.equal(dry.dryRun, true);
    assert.equal((await all()).length, 0);
    const report = ok<ImportReport>(await upload('format=outlook', fixture('outlook-en-comma.csv')));
    const strip = (r: ImportReport) => r.rows.map(({ row, action, name }) => ({ row, action, name }));
    assert.deepEqual(strip(report), strip(dry), 'the dry run reports what the import does');
    assert.deepEqual(
      report.rows.map((r) => [r.row, r.action]),
      [
        [1, 'created'],
        [2, 'created'],
        [3, 'skipped'],
        [4, 'created'],
      ],
    );
    assert.match(report.rows[2]?.reason ?? '', /name/);
    assert.deepEqual([report.created, report.updated, report.skipped], [3, 0, 1]);
    const contacts = await all();
    assert.deepEqual(
      contacts.map((c) => essence(c)),
      [
        {
          lastName: 'Bianchi',
          firstName: 'Giulia Maria',
          company: '',
          notes: '',
          personal: true,
          categoryName: 'No category',
          numbers: [
            { type: 'home', number: '02 9876 5432' },
            { type: 'mobile', number: '333 111 2222' },
          ],
        },
        {
          lastName: 'Rossi',
          firstName: 'Mario',
          company: 'Rossi Impianti S.r.l.',
          notes: 'Cliente storico, da richiamare\nil lunedì',
          personal: false,
          categoryName: 'Clienti',
          numbers: [
            { type: 'mobile', number: '+39 342 749 3700' },
            { type: 'work', number: '039 123 4567' },
          ],
        },
        {
          lastName: 'Verdi',
          firstName: 'Luca',
          company: 'Verdi & Figli',
          notes: '',
          personal: false,
          // "Fornitori;Clienti": the first category that exists.
          categoryName: 'Clienti',
          numbers: [
            { type: 'other', number: '+39 0341 555 000' },
            { type: 'fax', number: '0341 555 001' },
          ],
        },
      ],
    );
    assert.equal(contacts[1]?.id, report.rows[0]?.contactId);

    // The same file again: nothing doubles.
    const again = ok<ImportReport>(await upload('format=outlook', fixture('outlook-en-comma.csv')));
    assert.deepEqual([again.created, again.updated, again.skipped], [0, 0, 4]);
    assert.match(again.rows[0]?.reason ?? '', /already in the address book/);
  });

  it('reads Italian Outlook CSVs the same in UTF-8 with BOM and ";" and in Windows-1252 with tabs', async () => {
    const utf8 = ok<ImportReport>(
      await upload('format=outlook&dryRun=1', fixture('outlook-it-semicolon-bom.csv')),
    );
    const cp1252 = ok<ImportReport>(
      await upload('format=outlook&dryRun=1', fixture('outlook-it-tab-1252.csv')),
    );
    assert.deepEqual(cp1252.rows, utf8.rows);
    assert.deepEqual(
      utf8.rows.map((r) => [r.action, r.name]),
      [
        ['created', 'Esposito Nicolò'],
        ['created', 'Müller Zoë'],
        ['skipped', undefined],
      ],
    );
    ok<ImportReport>(
      await upload(
        'format=outlook',
        fixture('outlook-it-tab-1252.csv'),
        admin.token,
        'application/vnd.ms-excel',
      ),
    );
    const [esposito, muller] = await all();
    assert.deepEqual(esposito && essence(esposito), {
      lastName: 'Esposito',
      firstName: 'Nicolò',
      company: "Caffè Sant'Anna",
      notes: 'Perché sì: «virgolette»',
      personal: false,
      categoryName: 'No category',
      numbers: [
        { type: 'mobile', number: '+39 347 000 1111' },
        { type: 'work', number: '081 765 4321' },
      ],
    });
    assert.equal(muller?.personal, true);
    assert.equal(muller?.numbers[0]?.normalized, '+49301234567');
  });

  it("imports Google's Outlook CSV, numbers normalized with the default country", async () => {
    ok<ImportReport>(await upload('format=outlook', fixture('google-outlook.csv')));
    const contacts = await all();
    assert.deepEqual(
      contacts.map((c) => [c.lastName, c.numbers.map((n) => n.normalized).sort(), c.notes]),
      [
        ['Neri', ['+390611112222', '+393381234567'], 'from Google'],
        ['Smith', ['+14155550100'], '+1 is a formula-looking note'],
      ],
    );
  });

  it('applies the rights to an import: a member adds to their category, or personal contacts', async () => {
    const shared = ok<ImportReport>(
      await upload('format=outlook', fixture('google-outlook.csv'), member.token),
    );
    assert.deepEqual(
      shared.rows.map((r) => r.reason),
      [
        'only administrators add shared contacts without a category',
        'only administrators add shared contacts without a category',
      ],
    );
    const intoCategory = ok<ImportReport>(
      await upload(`format=outlook&category=${clienti.id}`, fixture('google-outlook.csv'), member.token),
    );
    assert.equal(intoCategory.created, 2);
    const outsider = await fx.createUser();
    const personal = ok<ImportReport>(
      await upload('format=outlook&personal=1', fixture('google-outlook.csv'), outsider.token),
    );
    assert.equal(personal.created, 2);
    assert.ok((await all(outsider.token)).every((c) => c.personal && c.ownerId === outsider.id));
    // A member's contacts are not an outsider's: the Clienti ones stay hidden.
    assert.equal((await all(outsider.token)).length, 2);
  });

  it('imports vCard 2.1 with quoted-printable, folded lines, bare types and an inline photo', async () => {
    const report = ok<ImportReport>(
      await upload('format=vcard', fixture('vcard21-outlook-qp.vcf'), admin.token, 'text/x-vcard'),
    );
    assert.deepEqual(
      report.rows.map((r) => [r.row, r.action]),
      [
        [1, 'created'],
        [2, 'created'],
      ],
    );
    const [dangelo, ferrari] = await all();
    assert.deepEqual(dangelo && essence(dangelo), {
      lastName: 'D’Angelo',
      firstName: 'Nicolò',
      company: 'Società Alfa',
      // Quoted-printable's CRLF arrives as a plain line break.
      notes: 'Riunione lunedì alle 10\nSeconda riga con un accento: perché sì',
      personal: false,
      categoryName: 'No category',
      numbers: [
        { type: 'mobile', number: '+39 342 749 3700' },
        { type: 'work', number: '02 1234 5678' },
        { type: 'fax', number: '02 1234 5679' },
      ],
    });
    assert.ok(dangelo?.imageUrl);
    const image = await fetch(`${fx.baseUrl}${dangelo.imageUrl}`, {
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    assert.equal(image.headers.get('content-type'), 'image/jpeg');
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 256]);
    assert.deepEqual(ferrari && essence(ferrari).numbers, [{ type: 'home', number: '0341 123456' }]);
  });

  it('imports iPhone vCard 3.0 (item labels, categories, UID) and Google vCard 4.0 (tel: URIs, photo links)', async () => {
    const iphone = ok<ImportReport>(
      await upload('format=vcard', fixture('vcard30-iphone.vcf'), admin.token, 'text/vcard'),
    );
    assert.deepEqual([iphone.created, iphone.skipped], [3, 0]);
    const google = ok<ImportReport>(
      await upload('format=vcard', fixture('vcard40-google.vcf'), admin.token, 'text/vcard'),
    );
    assert.deepEqual([google.created, google.skipped], [3, 0]);
    assert.match(google.rows[0]?.reason ?? '', /kept as a link, not downloaded/);
    assert.match(google.rows[2]?.reason ?? '', /not http\(s\)/);
    const byName = new Map((await all()).map((c) => [c.lastName || c.company, c]));
    const gallo = byName.get('Gallo');
    assert.ok(gallo);
    assert.equal(gallo.externalId, '7D3C5B1E-2F3A-4A8C-9E2B-1C0D5E6F7A8B');
    assert.equal(gallo.categoryName, 'Clienti');
    assert.equal(gallo.company, 'Gallo Design');
    assert.match(gallo.notes, /settantacinque caratteri, con una virgola\.$/);
    assert.deepEqual(
      essence(gallo).numbers.map((n) => n.type),
      ['work', 'mobile', 'mobile'],
    );
    assert.ok(gallo.imageUrl);
    const gino = byName.get('Pizzeria Da Gino');
    assert.deepEqual(gino && [gino.lastName, gino.company], ['', 'Pizzeria Da Gino']);
    const russo = byName.get('Russo');
    assert.equal(russo?.photoUri, 'https://lh3.googleusercontent.com/contacts/abc123');
    assert.deepEqual(
      russo?.numbers.map((n) => [n.type, n.normalized]),
      [
        ['mobile', '+393334445555'],
        ['work', '+390644445555'],
      ],
    );
    assert.ok(byName.get('Costa')?.imageUrl);
    assert.equal(byName.get('Locale')?.photoUri, undefined);

    // The same UID again updates the contact instead of adding one.
    const again = ok<ImportReport>(
      await upload('format=vcard', fixture('vcard30-iphone.vcf'), admin.token, 'text/vcard'),
    );
    assert.equal(again.rows[0]?.action, 'updated');
    assert.equal(again.rows[0]?.contactId, gallo.id);
  });

  it('reads our own CSV format and its sample, reporting each bad row', async () => {
    const sample = await fetch(`${fx.baseUrl}/api/contacts/sample.csv`, {
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    assert.equal(sample.status, 200);
    const sampleReport = ok<ImportReport>(
      await upload('format=csv&dryRun=1', Buffer.from(await sample.arrayBuffer())),
    );
    assert.deepEqual(
      sampleReport.rows.map((r) => r.action),
      ['created', 'created'],
    );
    const report = ok<ImportReport>(await upload('format=csv', fixture('contacts.csv')));
    assert.deepEqual(
      report.rows.map((r) => [r.row, r.action, r.reason ?? '']),
      [
        [1, 'created', ''],
        [2, 'created', ''],
        [3, 'skipped', 'unknown category "Sconosciuta"'],
        [4, 'skipped', 'personal must be 1 or 0, not "forse"'],
        [5, 'skipped', report.rows[4]?.reason ?? ''],
        [6, 'skipped', 'speed dial 12 is also in row 1'],
      ],
    );
    assert.match(report.rows[4]?.reason ?? '', /numbers\.0\.number/);
    const rossi = (await all()).find((c) => c.lastName === 'Rossi');
    assert.deepEqual(
      rossi?.numbers.map((n) => [n.number, n.speedDial]),
      [
        ['+39 342 749 3700', '12'],
        ['039 123 4567', undefined],
      ],
    );
    assert.equal(rossi?.externalId, 'CRM-1');
  });

  for (const format of ['csv', 'outlook', 'vcard'] as const) {
    it(`gives back the same contacts when a ${format} export is re-imported`, async () => {
      await fx.api('POST', '/api/contacts', {
        token: admin.token,
        body: {
          lastName: '=1+2',
          firstName: 'Ämélie',
          company: '@Società, "quotata"; sì',
          notes: '-riga uno\nriga due, con virgola',
          categoryId: clienti.id,
          numbers: [
            { type: 'mobile', number: '+39 342 749 3700', speedDial: '21' },
            { type: 'work', number: '039 123 4567' },
            { type: 'fax', number: '039 123 4568' },
            { type: 'home', number: '02 1234 5678' },
            { type: 'other', number: '112' },
          ],
        },
      });
      await fx.api('POST', '/api/contacts', {
        token: admin.token,
        body: {
          lastName: 'Personale',
          personal: true,
          externalId: 'EXT-9',
          numbers: [{ type: 'home', number: '0341 1' }],
        },
      });
      const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#00ff00' } })
        .png()
        .toBuffer();
      const before = await all();
      const withImage = before.find((c) => c.lastName === 'Personale');
      assert.ok(withImage);
      const put = await fetch(`${fx.baseUrl}/api/contacts/${withImage.id}/image`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'image/png' },
        body: new Uint8Array(png),
      });
      assert.equal(put.status, 200);

      const file = await download(`format=${format}&ids=${before.map((c) => c.id).join(',')}`);
      if (format !== 'vcard') {
        const text = file.body.toString('utf8');
        // Formula injection: cells that a spreadsheet would run start with a quote.
        assert.match(text, /'=1\+2/);
        assert.match(text, /"'@Società, ""quotata""; sì"/);
        assert.match(text, /'\+39 342 749 3700/);
        assert.doesNotMatch(text, /(^|,)=1\+2/m);
      }

      // Into the same address book: every contact is matched and updated, none added.
      const same = ok<ImportReport>(await upload(`format=${format}`, file.body, admin.token, file.type));
      assert.deepEqual([same.created, same.updated, same.skipped], [0, 2, 0], JSON.stringify(same.rows));

      // Into an empty one: the same contacts again.
      const deleted = await fx.api('POST', '/api/contacts/delete', {
        token: admin.token,
        body: { ids: before.map((c) => c.id) },
      });
      assert.equal(deleted.status, 200);
      const fresh = ok<ImportReport>(await upload(`format=${format}`, file.body, admin.token, file.type));
      assert.deepEqual([fresh.created, fresh.skipped], [2, 0], JSON.stringify(fresh.rows));
      const after = await all();
      // Outlook has no speed dial column.
      const opts = { speedDials: format !== 'outlook' };
      assert.deepEqual(
        after.map((c) => essence(c, opts)),
        before.map((c) => essence(c, opts)),
      );
      if (format === 'vcard') assert.ok(after.find((c) => c.lastName === 'Personale')?.imageUrl);
      assert.equal(after.find((c) => c.lastName === 'Personale')?.externalId, 'EXT-9');
    });
  }

  it('exports everything the caller sees when no ids are given, and refuses ids they do not see', async () => {
    ok<ImportReport>(await upload(`format=outlook&category=${clienti.id}`, fixture('google-outlook.csv')));
    ok<ImportReport>(await upload('format=outlook&personal=1', fixture('outlook-it-semicolon-bom.csv')));
    const outsider = await fx.createUser();
    const mine = ok<Contact>(
      await fx.api('POST', '/api/contacts', {
        token: outsider.token,
        body: { lastName: 'Mio', personal: true },
      }),
      201,
    );
    const asOutsider = (await download('format=csv', outsider.token)).body.toString('utf8');
    assert.deepEqual(
      asOutsider
        .trim()
        .split('\r\n')
        .slice(1)
        .map((line) => line.split(',')[1]),
      ['Mio'],
    );
    const asAdmin = (await download(`format=csv&category=${clienti.id}`)).body.toString('utf8');
    assert.equal(asAdmin.trim().split('\r\n').length, 3);
    const res = await fetch(`${fx.baseUrl}/api/contacts/export?format=vcard&ids=${mine.id}`, {
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    assert.equal(res.status, 404);
  });

  it('takes an export of up to 200 ids and refuses more, or a malformed list, with 400 (not an unreadable URL)', async () => {
    // schemathesis sent the old limit (1000 ids, 25 000 characters): Node refused the URL itself with a bare 431.
    const exportOf = (ids: string) =>
      fetch(`${fx.baseUrl}/api/contacts/export?format=csv&ids=${ids}`, {
        headers: { Authorization: `Bearer ${admin.token}` },
      });
    const id = (i: number): string => i.toString(16).padStart(24, '0');
    const many = (n: number): string => Array.from({ length: n }, (_, i) => id(i + 1)).join(',');
    // Ids nobody sees: a 404 says the list was read whole.
    assert.equal((await exportOf(many(200))).status, 404);
    for (const ids of [many(201), `${id(1)},,${id(2)}`, `${id(1)},`]) {
      const res = await exportOf(ids);
      assert.equal(res.status, 400, ids.slice(0, 60));
      assert.equal(((await res.json()) as ErrorBody).error.code, 'VALIDATION_FAILED');
    }
  });

  it('refuses a broken or garbage file whole, writing nothing', async () => {
    const broken = await upload('format=vcard', fixture('broken.vcf'), admin.token, 'text/vcard');
    fails(broken, 400, 'INVALID_FILE');
    assert.match((broken.body as ErrorBody).error.message, /BEGIN:VCARD/);
    fails(
      await upload('format=vcard', fixture('garbage.bin'), admin.token, 'application/octet-stream'),
      400,
      'INVALID_FILE',
    );
    fails(
      await upload('format=outlook', fixture('garbage.bin'), admin.token, 'application/octet-stream'),
      400,
      'INVALID_FILE',
    );
    fails(await upload('format=csv', fixture('outlook-en-comma.csv')), 400, 'INVALID_FILE');
    fails(
      await upload('format=vcard', fixture('contacts.csv'), admin.token, 'text/vcard'),
      400,
      'INVALID_FILE',
    );
    // UTF-16 without a BOM is not a text we can tell apart from binary.
    fails(
      await upload('format=outlook', Buffer.from('First Name,Last Name\r\nA,B\r\n', 'utf16le')),
      400,
      'INVALID_FILE',
    );
    fails(await upload('format=outlook', Buffer.from('a,"b\r\nc,d\r\n')), 400, 'INVALID_FILE');
    fails(await upload('format=outlook', randomBytes(10 * 1024 * 1024)), 413, 'FILE_TOO_LARGE');
    fails(
      await upload('format=outlook', Buffer.from('x'), admin.token, 'image/png'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    fails(await upload('format=excel', Buffer.from('x')), 400, 'VALIDATION_FAILED');
    fails(await upload('format=csv', Buffer.alloc(0)), 400, 'VALIDATION_FAILED');
    assert.equal((await all()).length, 0);
    assert.equal(await fx.db.connection.collection('contacts').countDocuments(), 0);
  });

  it('stores an uploaded image resized, refuses what is not an image, and checks the rights', async () => {
    const c = ok<Contact>(
      await fx.api('POST', '/api/contacts', {
        token: member.token,
        body: { lastName: 'Foto', categoryId: clienti.id },
      }),
      201,
    );
    const put = (data: Buffer, type: string, token = member.token) =>
      fetch(`${fx.baseUrl}/api/contacts/${c.id}/image`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
        body: new Uint8Array(data),
      });
    const big = await sharp({ create: { width: 2000, height: 1000, channels: 4, background: '#336699' } })
      .webp()
      .toBuffer();
    const res = await put(big, 'image/webp');
    assert.equal(res.status, 200);
    const view = (await res.json()) as Contact;
    assert.match(view.imageUrl ?? '', /^\/api\/contacts\/[0-9a-f]{24}\/image\?v=1$/);
    const got = await fetch(`${fx.baseUrl}${view.imageUrl}`, {
      headers: { Authorization: `Bearer ${member.token}` },
    });
    const meta = await sharp(Buffer.from(await got.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 256]);
    assert.equal((await put(Buffer.from('not an image at all'), 'image/png')).status, 415);
    assert.equal((await put(big, 'text/plain')).status, 415);
    assert.equal((await put(randomBytes(6 * 1024 * 1024), 'image/jpeg')).status, 413);
    // Someone who does not see the private category does not learn the contact exists.
    const outsider = await fx.createUser();
    assert.equal((await put(big, 'image/webp', outsider.token)).status, 404);
    const removed = ok<Contact>(
      await fx.api('DELETE', `/api/contacts/${c.id}/image`, { token: member.token }),
    );
    assert.equal(removed.imageUrl, undefined);
    fails(await fx.api('GET', `/api/contacts/${c.id}/image`, { token: member.token }), 404, 'NOT_FOUND');
  });
});
