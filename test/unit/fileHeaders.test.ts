import assert from 'node:assert/strict';
import { contentDisposition, fileNameOf, isInlineImage } from '../../server/chat/fileHeaders.js';

describe('chat file headers', () => {
  it('reads the upload name from both forms Synapse writes', () => {
    assert.equal(fileNameOf('inline; filename=foto.png'), 'foto.png');
    assert.equal(fileNameOf("attachment; filename*=utf-8''relazione%20%C3%A8.pdf"), 'relazione è.pdf');
    assert.equal(fileNameOf('attachment; filename="a \\"b\\".txt"'), 'a "b".txt');
    // The extended form wins; a broken one falls back to the plain name.
    assert.equal(fileNameOf("attachment; filename=plain.txt; filename*=UTF-8''ext%C3%A8.txt"), 'extè.txt');
    assert.equal(fileNameOf("attachment; filename=plain.txt; filename*=utf-8''%E0%A4"), 'plain.txt');
    assert.equal(fileNameOf('attachment'), undefined);
    assert.equal(fileNameOf(null), undefined);
  });

  it('writes an ASCII fallback and the exact name per RFC 5987, never a path or a control character', () => {
    assert.equal(contentDisposition('inline', undefined), 'inline');
    assert.equal(
      contentDisposition('attachment', 'relazione è (v2)*.pdf'),
      `attachment; filename="relazione _ (v2)*.pdf"; filename*=UTF-8''relazione%20%C3%A8%20%28v2%29%2A.pdf`,
    );
    assert.equal(
      contentDisposition('attachment', '../"x"\r\n.txt'),
      `attachment; filename="..__x___.txt"; filename*=UTF-8''.._%22x%22__.txt`,
    );
  });

  it('shows raster images inline and nothing else', () => {
    assert.equal(isInlineImage('image/png'), true);
    assert.equal(isInlineImage('IMAGE/JPEG; foo=bar'), true);
    assert.equal(isInlineImage('image/svg+xml'), false);
    assert.equal(isInlineImage('text/html; charset=UTF-8'), false);
    assert.equal(isInlineImage('application/pdf'), false);
  });
});
