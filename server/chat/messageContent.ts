import type { ChatMemberView, ChatMessageView, MediaRef } from '../../shared/schemas/chat.js';
import { renderMarkdown } from './markdown.js';
import { asRecord, type MatrixRoomEvent } from './matrix/matrixEvents.js';

/**
 * The content of chat messages: what we send (text, edits) and how a Matrix message event reads in our API
 * (ChatMessageView, its files).
 */

/**
 * Room for the event's envelope (ids, sender, hashes, signatures) under Synapse's 64 KiB limit on a whole event:
 * content beyond this is cut down (the HTML dropped, an edit's fallback shortened) rather than refused.
 */
const MAX_CONTENT_BYTES = 60_000;
const EDIT_FALLBACK_CHARS = 500;

function contentBytes(content: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(content));
}

/**
 * An m.text message, with the markdown subset rendered as `formatted_body` when it has markup. Escaped HTML can
 * be several times the text (`&` is `&amp;`): when it would make the event too large, the message goes as plain
 * text. A body too large by itself is left to Synapse, whose M_TOO_LARGE is a 413 (see matrixErrors).
 */
export function textContent(body: string): Record<string, unknown> {
  const html = renderMarkdown(body);
  const plain = { msgtype: 'm.text', body };
  if (!html) return plain;
  const formatted = { ...plain, format: 'org.matrix.custom.html', formatted_body: html };
  return contentBytes(formatted) <= MAX_CONTENT_BYTES ? formatted : plain;
}

/**
 * An edit (`m.replace`): the new text in `m.new_content`, and a "* text" fallback for clients without edits. The
 * markdown is rendered once (the fallback's "* " can neither open nor close emphasis). When both copies do not
 * fit, the fallback is shortened: clients that understand edits read only `m.new_content`.
 */
export function editContent(body: string, eventId: string): Record<string, unknown> {
  const next = textContent(body);
  const html = typeof next.formatted_body === 'string' ? next.formatted_body : undefined;
  const relation = { rel_type: 'm.replace', event_id: eventId };
  const full: Record<string, unknown> = {
    ...next,
    body: `* ${body}`,
    ...(html ? { formatted_body: `* ${html}` } : {}),
    'm.new_content': next,
    'm.relates_to': relation,
  };
  if (contentBytes(full) <= MAX_CONTENT_BYTES) return full;
  // Cut before a lone high surrogate, which Synapse's canonical JSON refuses.
  const cut = /[\uD800-\uDBFF]/.test(body.charAt(EDIT_FALLBACK_CHARS - 1))
    ? EDIT_FALLBACK_CHARS - 1
    : EDIT_FALLBACK_CHARS;
  const short = body.length > EDIT_FALLBACK_CHARS ? `${body.slice(0, cut)}…` : body;
  return { msgtype: 'm.text', body: `* ${short}`, 'm.new_content': next, 'm.relates_to': relation };
}

/** A message event as our API shows it; undefined for one without a text body (redacted, unknown). */
export function toMessageView(event: MatrixRoomEvent, sender: ChatMemberView): ChatMessageView | undefined {
  const relation = asRecord(event.content['m.relates_to']);
  const isEdit = relation?.rel_type === 'm.replace' && typeof relation.event_id === 'string';
  const content = isEdit ? (asRecord(event.content['m.new_content']) ?? event.content) : event.content;
  const { msgtype, body } = content;
  if (typeof msgtype !== 'string' || typeof body !== 'string') return undefined;
  const view: ChatMessageView = {
    roomId: event.room_id,
    eventId: event.event_id,
    sender,
    msgtype,
    body,
    ts: event.origin_server_ts,
  };
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    view.formattedBody = content.formatted_body;
  }
  if (isEdit) view.edits = relation.event_id as string;
  const replyTo = asRecord(relation?.['m.in_reply_to'])?.event_id;
  if (typeof replyTo === 'string') view.replyTo = replyTo;
  if ((msgtype === 'm.file' || msgtype === 'm.image') && typeof content.url === 'string') {
    const info = asRecord(content.info);
    view.file = { url: content.url, name: typeof content.filename === 'string' ? content.filename : body };
    if (typeof info?.mimetype === 'string') view.file.mimetype = info.mimetype;
    if (typeof info?.size === 'number') view.file.size = info.size;
  }
  return view;
}

/** The `chatmedias` key of a file: `<server>/<mediaId>`. */
export function mediaKey(media: MediaRef): string {
  return `${media.serverName}/${media.mediaId}`;
}

export function parseMxc(url: string): MediaRef | undefined {
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(url);
  return m?.[1] && m[2] ? { serverName: m[1], mediaId: m[2] } : undefined;
}

/** The mxc:// URLs a message refers to: its file, the thumbnail, and an edit's new file. */
export function mediaUrlsOf(content: Record<string, unknown>): string[] {
  const urls: string[] = [];
  for (const c of [content, asRecord(content['m.new_content'])]) {
    if (!c) continue;
    if (typeof c.url === 'string') urls.push(c.url);
    const thumbnail = asRecord(c.info)?.thumbnail_url;
    if (typeof thumbnail === 'string') urls.push(thumbnail);
  }
  return urls;
}
