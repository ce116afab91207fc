import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type RequestHandler } from 'express';
import { chatRoutes as routes } from '../../shared/rest/contract.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { rawFileBody, type BodyParsers } from '../http/bodyParsers.js';
import { on, reply } from '../http/typedRoute.js';
import type { ChatService } from './ChatService.js';
import { contentDisposition, isInlineImage } from './fileHeaders.js';

/** Browsers may keep a downloaded file this long: media never changes under its id, and the cache is private. */
const FILE_MAX_AGE_S = 24 * 3_600;

/** /api/chat: rooms and messages for directory users. Bodies are read only once the caller is known. */
export function chatRouter(
  chat: ChatService,
  options: { maxUploadBytes: number; body: Pick<BodyParsers, 'json'> },
): Router {
  const router = Router();
  router.use(requireUser());
  const json = options.body.json;

  on(router, routes.rooms, [], async (_input, _req, res) =>
    reply(200, { items: await chat.listRooms(userOf(res)) }),
  );

  on(router, routes.openDm, [json], async ({ body }, _req, res) => {
    const { room, created } = await chat.openDm(userOf(res), body.userId);
    return created ? reply(201, room) : reply(200, room);
  });

  on(router, routes.createGroup, [json], async ({ body }, _req, res) =>
    reply(201, await chat.createGroup(userOf(res), body)),
  );

  on(router, routes.room, [], async ({ params }, _req, res) =>
    reply(200, await chat.getRoom(userOf(res), params.roomId)),
  );

  on(router, routes.updateGroup, [json], async ({ params, body }, _req, res) =>
    reply(200, await chat.updateGroup(userOf(res), params.roomId, body)),
  );

  on(router, routes.addMembers, [json], async ({ params, body }, _req, res) =>
    reply(200, await chat.addMembers(userOf(res), params.roomId, body)),
  );

  on(router, routes.removeMember, [], async ({ params }, _req, res) =>
    reply(200, await chat.removeMember(userOf(res), params.roomId, params.userId)),
  );

  on(router, routes.leave, [], async ({ params }, _req, res) => {
    await chat.leave(userOf(res), params.roomId);
    return reply(204, undefined);
  });

  on(router, routes.history, [], async ({ params, query }, _req, res) =>
    reply(200, await chat.history(userOf(res), params.roomId, query)),
  );

  on(router, routes.send, [json], async ({ params, body }, _req, res) =>
    reply(201, await chat.send(userOf(res), params.roomId, body)),
  );

  on(router, routes.edit, [json], async ({ params, body }, _req, res) =>
    reply(200, await chat.edit(userOf(res), params.roomId, params.eventId, body)),
  );

  on(router, routes.markRead, [json], async ({ params, body }, _req, res) => {
    await chat.markRead(userOf(res), params.roomId, body.eventId);
    return reply(204, undefined);
  });

  on(router, routes.typing, [json], async ({ params, body }, _req, res) => {
    await chat.typing(userOf(res), params.roomId, body.typing);
    return reply(204, undefined);
  });

  on(
    router,
    routes.upload,
    [rawUpload(options.maxUploadBytes)],
    async ({ params, query, body: data }, req, res) => {
      if (!(data instanceof Buffer) || data.byteLength === 0) {
        throw new ValidationError('Invalid upload', [
          {
            path: 'body',
            message: 'send the file itself as the body (JSON files as application/octet-stream)',
          },
        ]);
      }
      const type = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim();
      return reply(
        201,
        await chat.upload(userOf(res), params.roomId, {
          data: new Uint8Array(data),
          type: type || 'application/octet-stream',
          name: query.name,
        }),
      );
    },
  );

  on(router, routes.file, [], async ({ params, query }, _req, res) => {
    const { roomId, serverName, mediaId } = params;
    // A browser that goes away stops the download from Synapse too.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const file = await chat.file(
      userOf(res),
      roomId,
      { serverName, mediaId },
      { thumbnail: query.thumbnail === '1', signal: gone.signal },
    );
    // User content: shown inline only when it is a picture, and never run (sandbox, no sniffing) even if opened
    // directly in a tab.
    res.setHeader('Content-Type', file.contentType);
    if (file.contentLength !== undefined) res.setHeader('Content-Length', String(file.contentLength));
    res.setHeader(
      'Content-Disposition',
      contentDisposition(isInlineImage(file.contentType) ? 'inline' : 'attachment', file.fileName),
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', 'sandbox');
    res.setHeader('Cache-Control', `private, max-age=${FILE_MAX_AGE_S}`);
    try {
      await pipeline(Readable.fromWeb(file.body), res);
    } catch {
      // The browser went away or Synapse broke off mid-file: the status is sent, so the cut connection is the
      // only answer left (a Content-Length that is not reached tells the browser).
      res.destroy();
    }
    return undefined;
  });

  return router;
}

/** The raw body of an upload of any type but multipart (415), at most `limit` bytes. */
function rawUpload(limit: number): RequestHandler {
  // Synapse's web server reads a multipart body as a form and refuses the upload (415): a file goes as itself.
  return rawFileBody(limit, (req) =>
    /^\s*multipart\//i.test(req.headers['content-type'] ?? '')
      ? new UnsupportedMediaTypeError('Send the file itself as the body, not as a multipart form')
      : undefined,
  );
}
