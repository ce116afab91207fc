import assert from 'node:assert/strict';
import { PNG_1X1, type ErrorBody, nextMessage, chatServer } from '../harness/chatServer.js';
import { testStack } from '../harness/testStack.js';

const UPLOAD_LIMIT = 4_096;

describe('chat files through the Matrix media repository (real Synapse)', function () {
  this.timeout(60_000);
  const chat = chatServer({ chat: { maxUploadBytes: UPLOAD_LIMIT } });
  const { user, openDm } = chat;

  it('sends files through the media repository and refuses one over the limit', async () => {
    const ivo = await user('Ivo', 'Galli');
    const lia = await user('Lia', 'Serra');
    const { room } = await openDm(ivo, lia);
    const liaSocket = await chat.sockets.connect(lia.token);
    const path = `/api/chat/rooms/${encodeURIComponent(room.roomId)}/files?name=nota.bin`;

    const arrived = nextMessage(liaSocket, 'nota.bin');
    const ok = await chat.fx.api('POST', path, {
      token: ivo.token,
      body: 'x'.repeat(100),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const message = await arrived;
    assert.equal(message.msgtype, 'm.file');
    assert.match(message.file?.url ?? '', /^mxc:\/\//);
    assert.equal(message.file?.size, 100);

    const tooBig = await chat.fx.api('POST', path, {
      token: ivo.token,
      body: 'x'.repeat(UPLOAD_LIMIT + 1),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(tooBig.status, 413);
    assert.equal((tooBig.body as ErrorBody).error.code, 'FILE_TOO_LARGE');
  });

  it('downloads a room’s files from the media repository, byte for byte, with headers safe for user content', async () => {
    const nina = await user('Nina', 'Fabbri');
    const otto = await user('Otto', 'Marchi');
    const { room } = await openDm(nina, otto);
    const files = `/api/chat/rooms/${encodeURIComponent(room.roomId)}/files`;
    const upload = async (name: string, type: string, data: Buffer): Promise<string> => {
      const res = await fetch(`${chat.fx.baseUrl}${files}?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${nina.token}`, 'Content-Type': type },
        body: data,
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      return (JSON.parse(text) as { url: string }).url;
    };
    const download = (url: string, token?: string): Promise<Response> =>
      fetch(`${chat.fx.baseUrl}${url}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
    const routeOf = (mxc: string): string => {
      const [serverName, mediaId] = mxc.replace(/^mxc:\/\//, '').split('/') as [string, string];
      return `${files}/${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`;
    };

    // An image, with a name that needs RFC 5987: shown inline, and never run.
    const image = await upload('foto è (1).png', 'image/png', PNG_1X1);
    const res = await download(routeOf(image), otto.token);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG_1X1);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-length'), String(PNG_1X1.byteLength));
    assert.equal(
      res.headers.get('content-disposition'),
      `inline; filename="foto _ (1).png"; filename*=UTF-8''foto%20%C3%A8%20%281%29.png`,
    );
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);

    const thumbnail = await download(`${routeOf(image)}?thumbnail=1`, otto.token);
    assert.equal(thumbnail.status, 200);
    assert.match(thumbnail.headers.get('content-type') ?? '', /^image\//);
    assert.ok((await thumbnail.arrayBuffer()).byteLength > 0);

    // Anything else is a download, whatever it claims to be.
    const page = Buffer.from('<script>alert(1)</script>');
    const html = await upload('pagina.html', 'text/html', page);
    const asFile = await download(routeOf(html), nina.token);
    assert.equal(asFile.status, 200);
    assert.deepEqual(Buffer.from(await asFile.arrayBuffer()), page);
    assert.equal(
      asFile.headers.get('content-disposition'),
      `attachment; filename="pagina.html"; filename*=UTF-8''pagina.html`,
    );
    assert.equal(asFile.headers.get('content-security-policy'), 'sandbox');
    const noThumbnail = await download(`${routeOf(html)}?thumbnail=1`, nina.token);
    assert.equal(noThumbnail.status, 404);
    assert.equal(((await noThumbnail.json()) as ErrorBody).error.code, 'NOT_FOUND');

    // Not a member, not ours, not a media id, not there, not signed in.
    const outsider = await user('Pia', 'Esterna');
    const refused = await download(routeOf(image), outsider.token);
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as ErrorBody).error.code, 'NOT_FOUND');
    const mediaId = image.split('/').pop() ?? '';
    const elsewhere = await download(`${files}/example.org/${mediaId}`, otto.token);
    assert.equal(elsewhere.status, 404);
    const bad = await download(`${files}/${testStack().matrix.serverName}/bad.id`, otto.token);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as ErrorBody).error.code, 'VALIDATION_FAILED');
    const badQuery = await download(`${routeOf(image)}?thumbnail=yes`, otto.token);
    assert.equal(badQuery.status, 400);
    const missing = await download(`${files}/${testStack().matrix.serverName}/NoSuchMedia123`, otto.token);
    assert.equal(missing.status, 404);
    assert.deepEqual(((await missing.json()) as ErrorBody).error.code, 'NOT_FOUND');
    assert.equal((await download(routeOf(image))).status, 401);
  });
});
