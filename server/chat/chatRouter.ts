import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { Router, type RequestHandler } from 'express';
import {
  addMembersSchema,
  createGroupSchema,
  editMessageSchema,
  fileQuerySchema,
  historyQuerySchema,
  openDmSchema,
  readReceiptSchema,
  roomEventParamsSchema,
  roomFileParamsSchema,
  roomMemberParamsSchema,
  roomParamsSchema,
  sendMessageSchema,
  typingSchema,
  updateGroupSchema,
  uploadQuerySchema,
} from '../../shared/schemas/chat.js';
import { requireUser, userOf } from '../auth/authMiddleware.js';
import { FileTooLargeError, ValidationError } from '../errors.js';
import type { BodyParsers } from '../http/bodyParsers.js';
import { parseInput } from '../http/validate.js';
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

  router.get('/rooms', async (_req, res) => {
    res.json({ items: await chat.listRooms(userOf(res)) });
  });

  router.post('/dms', json, async (req, res) => {
    const { userId } = parseInput(openDmSchema, req.body);
    const { room, created } = await chat.openDm(userOf(res), userId);
    res.status(created ? 201 : 200).json(room);
  });

  router.post('/rooms', json, async (req, res) => {
    const body = parseInput(createGroupSchema, req.body);
    res.status(201).json(await chat.createGroup(userOf(res), body));
  });

  router.get('/rooms/:roomId', async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    res.json(await chat.getRoom(userOf(res), roomId));
  });

  router.patch('/rooms/:roomId', json, async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const body = parseInput(updateGroupSchema, req.body);
    res.json(await chat.updateGroup(userOf(res), roomId, body));
  });

  router.post('/rooms/:roomId/members', json, async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const body = parseInput(addMembersSchema, req.body);
    res.json(await chat.addMembers(userOf(res), roomId, body));
  });

  router.delete('/rooms/:roomId/members/:userId', async (req, res) => {
    const { roomId, userId } = parseInput(roomMemberParamsSchema, req.params, 'path');
    res.json(await chat.removeMember(userOf(res), roomId, userId));
  });

  router.post('/rooms/:roomId/leave', async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    await chat.leave(userOf(res), roomId);
    res.status(204).end();
  });

  router.get('/rooms/:roomId/messages', async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const query = parseInput(historyQuerySchema, req.query, 'query');
    res.json(await chat.history(userOf(res), roomId, query));
  });

  router.post('/rooms/:roomId/messages', json, async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const body = parseInput(sendMessageSchema, req.body);
    res.status(201).json(await chat.send(userOf(res), roomId, body));
  });

  router.put('/rooms/:roomId/messages/:eventId', json, async (req, res) => {
    const { roomId, eventId } = parseInput(roomEventParamsSchema, req.params, 'path');
    const body = parseInput(editMessageSchema, req.body);
    res.json(await chat.edit(userOf(res), roomId, eventId, body));
  });

  router.post('/rooms/:roomId/read', json, async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const { eventId } = parseInput(readReceiptSchema, req.body);
    await chat.markRead(userOf(res), roomId, eventId);
    res.status(204).end();
  });

  router.post('/rooms/:roomId/typing', json, async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const { typing } = parseInput(typingSchema, req.body);
    await chat.typing(userOf(res), roomId, typing);
    res.status(204).end();
  });

  router.post('/rooms/:roomId/files', rawUpload(options.maxUploadBytes), async (req, res) => {
    const { roomId } = parseInput(roomParamsSchema, req.params, 'path');
    const { name } = parseInput(uploadQuerySchema, req.query, 'query');
    const data = req.body as unknown;
    if (!(data instanceof Buffer) || data.byteLength === 0) {
      throw new ValidationError('Invalid upload', [
        {
          path: 'body',
          message: 'send the file itself as the body (JSON files as application/octet-stream)',
        },
      ]);
    }
    const type = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]?.trim();
    res.status(201).json(
      await chat.upload(userOf(res), roomId, {
        data: new Uint8Array(data),
        type: type || 'application/octet-stream',
        name,
      }),
    );
  });

  router.get('/rooms/:roomId/files/:serverName/:mediaId', async (req, res) => {
    const { roomId, serverName, mediaId } = parseInput(roomFileParamsSchema, req.params, 'path');
    const { thumbnail } = parseInput(fileQuerySchema, req.query, 'query');
    // A browser that goes away stops the download from Synapse too.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const file = await chat.file(
      userOf(res),
      roomId,
      { serverName, mediaId },
      { thumbnail: thumbnail === '1', signal: gone.signal },
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
  });

  return router;
}

/**
 * The raw body of an upload, refused with 413 FILE_TOO_LARGE beyond the limit: early from Content-Length, or
 * while reading a body that has none.
 */
function rawUpload(limit: number): RequestHandler {
  const parse = express.raw({ type: () => true, limit });
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      next(new FileTooLargeError(limit));
      return;
    }
    parse(req, res, (err?: unknown) => {
      const tooLarge =
        typeof err === 'object' && err !== null && 'type' in err && err.type === 'entity.too.large';
      next(tooLarge ? new FileTooLargeError(limit) : err);
    });
  };
}
