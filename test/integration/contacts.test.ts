import assert from 'node:assert/strict';
import type {
  BulkDeleteResult,
  Category,
  CategoryDeleteResult,
  CategoryPage,
  Contact,
  ContactPage,
  SearchResult,
} from '../../shared/schemas/contacts.js';
import { startServer, type ServerFixture, type TestUser } from '../harness/serverFixture.js';

interface ErrorBody {
  error: { code: string; message: string };
}

type Res = Awaited<ReturnType<ServerFixture['api']>>;

function ok<T>(res: Res, status = 200): T {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body as T;
}

function fails(res: Res, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal((res.body as ErrorBody).error.code, code);
}

describe('Rubrica: contacts and categories', () => {
  let fx: ServerFixture;
  let admin: TestUser;
  let editor: TestUser;
  let curator: TestUser;
  let reader: TestUser;
  let outsider: TestUser;
  let privateCat: Category;
  let publicCat: Category;

  const newContact = (token: string, body: Record<string, unknown>) =>
    fx.api('POST', '/api/contacts', { token, body });

  beforeEach(async () => {
    fx = await startServer();
    admin = await fx.createUser({ role: 'admin', firstName: 'Ada', lastName: 'Admin' });
    editor = await fx.createUser({ firstName: 'Edo', lastName: 'Editor' });
    curator = await fx.createUser({ firstName: 'Cora', lastName: 'Curator' });
    reader = await fx.createUser({ firstName: 'Rita', lastName: 'Reader' });
    outsider = await fx.createUser({ firstName: 'Otto', lastName: 'Outsider' });
    privateCat = ok<Category>(
      await fx.api('POST', '/api/categories', {
        token: admin.token,
        body: {
          name: 'Clienti',
          public: false,
          memberships: [
            { userId: editor.id, editContacts: true },
            { userId: curator.id, editCategories: true },
            { userId: reader.id },
          ],
        },
      }),
      201,
    );
    publicCat = ok<Category>(
      await fx.api('POST', '/api/categories', {
        token: admin.token,
        body: { name: 'Partner', public: true, memberships: [{ userId: editor.id, editContacts: true }] },
      }),
      201,
    );
  });

  afterEach(async () => {
    await fx.close();
  });

  it('shows a private category and its contacts to its members only, and a public one to everyone', async () => {
    ok(
      await newContact(editor.token, { lastName: 'Rossi', firstName: 'Mario', categoryId: privateCat.id }),
      201,
    );
    ok(
      await newContact(editor.token, { lastName: 'Verdi', company: 'Verdi Srl', categoryId: publicCat.id }),
      201,
    );

    const names = async (user: TestUser): Promise<string[]> =>
      ok<ContactPage>(await fx.api('GET', '/api/contacts', { token: user.token })).items.map(
        (c) => c.lastName,
      );
    assert.deepEqual(await names(reader), ['Rossi', 'Verdi']);
    assert.deepEqual(await names(admin), ['Rossi', 'Verdi']);
    assert.deepEqual(await names(outsider), ['Verdi']);

    const outsiderCats = ok<CategoryPage>(await fx.api('GET', '/api/categories', { token: outsider.token }));
    assert.deepEqual(
      outsiderCats.items.map((c) => c.name),
      ['No category', 'Partner'],
    );
    // Members' lists are for those who manage the category.
    const seenByReader = ok<CategoryPage>(await fx.api('GET', '/api/categories', { token: reader.token }));
    const clienti = seenByReader.items.find((c) => c.id === privateCat.id);
    assert.ok(clienti);
    assert.equal(clienti.memberships.length, 0);
    assert.equal(clienti.canEdit, false);
    assert.equal(clienti.contactCount, 1);
    fails(
      await fx.api('GET', `/api/categories/${privateCat.id}`, { token: outsider.token }),
      404,
      'NOT_FOUND',
    );
  });

  it('lets only members with "Modifica contatti" (and admins) add, change and delete a category\'s contacts', async () => {
    fails(await newContact(reader.token, { lastName: 'X', categoryId: privateCat.id }), 403, 'FORBIDDEN');
    fails(await newContact(curator.token, { lastName: 'X', categoryId: privateCat.id }), 403, 'FORBIDDEN');
    // Outsiders do not even learn that the category exists.
    fails(
      await newContact(outsider.token, { lastName: 'X', categoryId: privateCat.id }),
      400,
      'VALIDATION_FAILED',
    );
    // A public category's contacts are seen by all, changed by its editors only.
    fails(await newContact(outsider.token, { lastName: 'X', categoryId: publicCat.id }), 403, 'FORBIDDEN');
    // Shared contacts without a category are the admins'.
    fails(await newContact(editor.token, { lastName: 'X' }), 403, 'FORBIDDEN');
    ok(await newContact(admin.token, { lastName: 'Senza' }), 201);

    const c = ok<Contact>(
      await newContact(editor.token, { lastName: 'Rossi', categoryId: privateCat.id }),
      201,
    );
    assert.equal(c.canEdit, true);
    const asReader = ok<Contact>(await fx.api('GET', `/api/contacts/${c.id}`, { token: reader.token }));
    assert.equal(asReader.canEdit, false);
    fails(
      await fx.api('PATCH', `/api/contacts/${c.id}`, { token: reader.token, body: { notes: 'no' } }),
      403,
      'FORBIDDEN',
    );
    fails(await fx.api('GET', `/api/contacts/${c.id}`, { token: outsider.token }), 404, 'NOT_FOUND');
    fails(await fx.api('DELETE', `/api/contacts/${c.id}`, { token: outsider.token }), 404, 'NOT_FOUND');
    // Moving it to a category where the editor may not add contacts is refused.
    fails(
      await fx.api('PATCH', `/api/contacts/${c.id}`, { token: editor.token, body: { categoryId: null } }),
      403,
      'FORBIDDEN',
    );
    const moved = ok<Contact>(
      await fx.api('PATCH', `/api/contacts/${c.id}`, {
        token: editor.token,
        body: { categoryId: publicCat.id },
      }),
    );
    assert.equal(moved.categoryName, 'Partner');
    ok(await fx.api('PATCH', `/api/contacts/${c.id}`, { token: admin.token, body: { notes: 'admin' } }));
    assert.equal((await fx.api('DELETE', `/api/contacts/${c.id}`, { token: editor.token })).status, 204);
  });

  it('keeps a personal contact to its owner, admins included', async () => {
    const mine = ok<Contact>(
      await newContact(outsider.token, {
        lastName: 'Mamma',
        personal: true,
        numbers: [{ type: 'mobile', number: '333 123 4567' }],
      }),
      201,
    );
    assert.equal(mine.personal, true);
    assert.equal(mine.ownerId, outsider.id);
    for (const other of [admin, editor]) {
      fails(await fx.api('GET', `/api/contacts/${mine.id}`, { token: other.token }), 404, 'NOT_FOUND');
      const list = ok<ContactPage>(await fx.api('GET', '/api/contacts', { token: other.token }));
      assert.equal(list.total, 0);
      const search = ok<SearchResult>(
        await fx.api('GET', '/api/search?q=3331234567', { token: other.token }),
      );
      assert.equal(search.items.length, 0);
    }
    const personalOnly = ok<ContactPage>(
      await fx.api('GET', '/api/contacts?personal=1', { token: outsider.token }),
    );
    assert.deepEqual(
      personalOnly.items.map((c) => c.id),
      [mine.id],
    );
  });

  it('lets members with "Modifica categorie" change the category, and nobody else but admins', async () => {
    fails(
      await fx.api('PATCH', `/api/categories/${privateCat.id}`, {
        token: editor.token,
        body: { public: true },
      }),
      403,
      'FORBIDDEN',
    );
    fails(
      await fx.api('POST', '/api/categories', { token: curator.token, body: { name: 'Mia' } }),
      403,
      'FORBIDDEN',
    );
    const renamed = ok<Category>(
      await fx.api('PATCH', `/api/categories/${privateCat.id}`, {
        token: curator.token,
        body: { name: 'Clienti VIP', memberships: [{ userId: curator.id, editCategories: true }] },
      }),
    );
    assert.equal(renamed.name, 'Clienti VIP');
    assert.deepEqual(
      renamed.memberships.map((m) => m.userId),
      [curator.id],
    );
    // The editor is no member any more: the private category is gone from their view.
    const list = ok<CategoryPage>(await fx.api('GET', '/api/categories', { token: editor.token }));
    assert.ok(!list.items.some((c) => c.id === privateCat.id));
    fails(
      await fx.api('POST', '/api/categories', { token: admin.token, body: { name: 'partner' } }),
      409,
      'CONFLICT',
    );
  });

  it('refuses with 409, not 500, renaming a category to the name of another one', async () => {
    // An update colliding with the unique name index is reported by FerretDB unlike an insert (schemathesis).
    fails(
      await fx.api('PATCH', `/api/categories/${privateCat.id}`, {
        token: admin.token,
        body: { name: 'PARTNER', memberships: [], public: false },
      }),
      409,
      'CONFLICT',
    );
    const kept = ok<Category>(
      await fx.api('GET', `/api/categories/${privateCat.id}`, { token: admin.token }),
    );
    assert.equal(kept.name, 'Clienti');
    assert.equal(kept.memberships.length, 3);
  });

  it('moves the contacts of a deleted category to "No category" and says how many', async () => {
    ok(await newContact(editor.token, { lastName: 'Uno', categoryId: privateCat.id }), 201);
    ok(await newContact(editor.token, { lastName: 'Due', categoryId: privateCat.id }), 201);
    fails(
      await fx.api('DELETE', `/api/categories/${privateCat.id}`, { token: editor.token }),
      403,
      'FORBIDDEN',
    );
    const result = ok<CategoryDeleteResult>(
      await fx.api('POST', '/api/categories/delete', {
        token: curator.token,
        body: { ids: [privateCat.id] },
      }),
    );
    assert.deepEqual(result, { deleted: 1, movedContacts: 2 });
    const list = ok<ContactPage>(
      await fx.api('GET', '/api/contacts?category=none', { token: outsider.token }),
    );
    assert.deepEqual(
      list.items.map((c) => [c.lastName, c.categoryName]),
      [
        ['Due', 'No category'],
        ['Uno', 'No category'],
      ],
    );
    fails(await fx.api('DELETE', '/api/categories/none', { token: admin.token }), 403, 'FORBIDDEN');
  });

  it('drops the memberships of a user deleted from the directory', async () => {
    assert.equal(
      (await fx.api('DELETE', `/api/directory/users/${reader.id}`, { token: admin.token })).status,
      204,
    );
    const deadline = Date.now() + 5_000;
    for (;;) {
      const cat = ok<Category>(
        await fx.api('GET', `/api/categories/${privateCat.id}`, { token: admin.token }),
      );
      const stored = await fx.db.connection
        .collection('contactcategories')
        .findOne({ 'memberships.userId': reader.id });
      if (stored === null) {
        assert.ok(!cat.memberships.some((m) => m.userId === reader.id));
        break;
      }
      assert.ok(Date.now() < deadline, 'the membership was never removed');
      await new Promise((r) => setImmediate(r));
    }
  });

  it('deletes a selection all or nothing', async () => {
    const a = ok<Contact>(await newContact(editor.token, { lastName: 'A', categoryId: publicCat.id }), 201);
    const b = ok<Contact>(await newContact(admin.token, { lastName: 'B' }), 201);
    fails(
      await fx.api('POST', '/api/contacts/delete', { token: editor.token, body: { ids: [a.id, b.id] } }),
      403,
      'FORBIDDEN',
    );
    assert.equal(ok<ContactPage>(await fx.api('GET', '/api/contacts', { token: admin.token })).total, 2);
    const done = ok<BulkDeleteResult>(
      await fx.api('POST', '/api/contacts/delete', { token: admin.token, body: { ids: [a.id, b.id] } }),
    );
    assert.equal(done.deleted, 2);
  });

  it('finds contacts by name without accents or case, and by number in any format', async () => {
    ok(
      await newContact(editor.token, {
        lastName: 'Nicolò',
        firstName: 'Ávila',
        company: 'Società Élite',
        categoryId: publicCat.id,
        numbers: [
          { type: 'mobile', number: '+39 342 749 3700' },
          { type: 'work', number: '02 1234 5678' },
        ],
      }),
      201,
    );
    ok(await newContact(editor.token, { lastName: 'Altro', categoryId: publicCat.id }), 201);
    const found = async (q: string): Promise<string[]> =>
      ok<ContactPage>(
        await fx.api('GET', `/api/contacts?q=${encodeURIComponent(q)}`, { token: outsider.token }),
      ).items.map((c) => c.lastName);
    for (const q of [
      'nicolo',
      'NICOLÒ',
      'avila nic',
      'elite',
      'societa',
      '3427493700',
      '+39 342 749 3700',
      '0039342749',
      '342 749',
      '0212345678',
      '+390212345678',
    ]) {
      assert.deepEqual(await found(q), ['Nicolò'], q);
    }
    assert.deepEqual(await found('nicola'), []);
    assert.deepEqual(await found('.*'), []);
    const stored = ok<ContactPage>(await fx.api('GET', '/api/contacts?q=nicolo', { token: outsider.token }));
    assert.deepEqual(
      stored.items[0]?.numbers.map((n) => [n.number, n.normalized]),
      [
        ['+39 342 749 3700', '+393427493700'],
        ['02 1234 5678', '+390212345678'],
      ],
    );
  });

  it('sorts by every column, both ways, and pages', async () => {
    ok(await newContact(admin.token, { lastName: 'Bianchi', firstName: 'Zoe', company: 'Acme' }), 201);
    ok(
      await newContact(admin.token, {
        lastName: 'álvaro',
        firstName: 'Anna',
        company: 'Zeta',
        categoryId: publicCat.id,
      }),
      201,
    );
    ok(
      await newContact(admin.token, { lastName: 'Conte', firstName: 'Mia', company: 'Beta', personal: true }),
      201,
    );
    const order = async (sort: string): Promise<string[]> =>
      ok<ContactPage>(await fx.api('GET', `/api/contacts?sort=${sort}`, { token: admin.token })).items.map(
        (c) => c.lastName,
      );
    assert.deepEqual(await order('lastName'), ['álvaro', 'Bianchi', 'Conte']);
    assert.deepEqual(await order('-lastName'), ['Conte', 'Bianchi', 'álvaro']);
    assert.deepEqual(await order('firstName'), ['álvaro', 'Conte', 'Bianchi']);
    assert.deepEqual(await order('company'), ['Bianchi', 'Conte', 'álvaro']);
    assert.deepEqual(await order('-personal'), ['Conte', 'álvaro', 'Bianchi']);
    assert.deepEqual(await order('category'), ['Bianchi', 'Conte', 'álvaro']);
    const page2 = ok<ContactPage>(
      await fx.api('GET', '/api/contacts?pageSize=2&page=2', { token: admin.token }),
    );
    assert.equal(page2.total, 3);
    assert.deepEqual(
      page2.items.map((c) => c.lastName),
      ['Conte'],
    );
    fails(
      await fx.api('GET', '/api/contacts?sort=passwordHash', { token: admin.token }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('keeps speed dials unique among shared contacts, and per owner among personal ones, under concurrent writes', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        newContact(admin.token, {
          lastName: `C${i}`,
          numbers: [{ type: 'work', number: `0${i}1234567`, speedDial: '7' }],
        }),
      ),
    );
    assert.equal(
      attempts.filter((r) => r.status === 201).length,
      1,
      JSON.stringify(attempts.map((r) => r.status)),
    );
    for (const r of attempts.filter((x) => x.status !== 201)) fails(r, 409, 'CONFLICT');
    // Personal contacts have a scope per owner.
    ok(
      await newContact(editor.token, {
        lastName: 'P',
        personal: true,
        numbers: [{ type: 'home', number: '123', speedDial: '7' }],
      }),
      201,
    );
    ok(
      await newContact(reader.token, {
        lastName: 'P',
        personal: true,
        numbers: [{ type: 'home', number: '123', speedDial: '7' }],
      }),
      201,
    );
    fails(
      await newContact(editor.token, {
        lastName: 'Q',
        personal: true,
        numbers: [{ type: 'home', number: '1', speedDial: '7' }],
      }),
      409,
      'CONFLICT',
    );
    // Freed when the holder goes: deleting the shared one lets another take it.
    const list = ok<ContactPage>(await fx.api('GET', '/api/contacts?personal=0', { token: admin.token }));
    const holder = list.items[0];
    assert.ok(holder);
    assert.equal((await fx.api('DELETE', `/api/contacts/${holder.id}`, { token: admin.token })).status, 204);
    ok(
      await newContact(admin.token, {
        lastName: 'New',
        numbers: [{ type: 'work', number: '0299', speedDial: '7' }],
      }),
      201,
    );
    fails(
      await newContact(admin.token, {
        lastName: 'Twice',
        numbers: [
          { type: 'work', number: '1', speedDial: '8' },
          { type: 'home', number: '2', speedDial: '8' },
        ],
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers the phone search with directory users and visible contacts, one row per number, by category', async () => {
    const mario = await fx.createUser({ firstName: 'Mario', lastName: 'Rossi', extension: '951' });
    ok(
      await newContact(editor.token, {
        lastName: 'Rossi',
        firstName: 'Anna',
        categoryId: privateCat.id,
        numbers: [
          { type: 'mobile', number: '342 749 3700' },
          { type: 'work', number: '039 123456' },
        ],
      }),
      201,
    );
    const asReader = ok<SearchResult>(await fx.api('GET', '/api/search?q=rossi', { token: reader.token }));
    assert.deepEqual(
      asReader.items.map((h) => [h.kind, h.name, h.number, h.type, h.categoryName]),
      [
        ['contact', 'Rossi Anna', '039 123456', 'work', 'Clienti'],
        ['contact', 'Rossi Anna', '342 749 3700', 'mobile', 'Clienti'],
        ['user', 'Rossi Mario', '951', 'interno', null],
      ],
    );
    const asOutsider = ok<SearchResult>(
      await fx.api('GET', '/api/search?q=rossi', { token: outsider.token }),
    );
    assert.deepEqual(
      asOutsider.items.map((h) => h.id),
      [mario.id],
    );
    const byNumber = ok<SearchResult>(
      await fx.api('GET', '/api/search?q=%2B393427493700', { token: reader.token }),
    );
    assert.deepEqual(
      byNumber.items.map((h) => [h.number, h.dial]),
      [['342 749 3700', '+393427493700']],
    );
    const byExtension = ok<SearchResult>(await fx.api('GET', '/api/search?q=951', { token: reader.token }));
    assert.deepEqual(
      byExtension.items.map((h) => h.name),
      ['Rossi Mario'],
    );
    const usersOnly = ok<SearchResult>(
      await fx.api('GET', '/api/search?q=rossi&category=directory', { token: reader.token }),
    );
    assert.deepEqual(
      usersOnly.items.map((h) => h.kind),
      ['user'],
    );
    const byCategory = ok<SearchResult>(
      await fx.api('GET', `/api/search?q=rossi&category=${privateCat.id}`, { token: reader.token }),
    );
    assert.equal(byCategory.items.length, 2);
    assert.ok(byCategory.items.every((h) => h.kind === 'contact'));
    fails(await fx.api('GET', '/api/search?q=rossi', { token: fx.guestToken() }), 403, 'FORBIDDEN');
    fails(await fx.api('GET', '/api/contacts'), 401, 'UNAUTHENTICATED');
  });
});
