import { useEffect, useState } from 'react';
import type { ChatMessageView } from '../../../../shared/schemas/chat.js';
import { apiBlob } from '../api/api.js';
import { useI18n } from '../i18n/i18n.js';

/** `mxc://server/media` → our authenticated download route for that room. */
export function fileUrl(roomId: string, mxc: string): string | undefined {
  const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
  if (!m?.[1] || !m[2]) return undefined;
  return `/api/chat/rooms/${encodeURIComponent(roomId)}/files/${encodeURIComponent(m[1])}/${encodeURIComponent(m[2])}`;
}

/** Text (our server's sanitised HTML when there was markup), or a file: images inline, others to download. */
export function MessageBody({
  message,
  roomId,
}: {
  message: ChatMessageView;
  roomId: string;
}): React.JSX.Element {
  const { t } = useI18n();
  const url = message.file ? fileUrl(roomId, message.file.url) : undefined;
  if (message.file && url) {
    if (message.msgtype === 'm.image') return <ChatImage url={url} name={message.file.name} />;
    return <FileLink url={url} name={message.file.name} size={message.file.size} label={t('download')} />;
  }
  return <p className="text">{message.body}</p>;
}

function useObjectUrl(url: string): { src?: string; failed: boolean } {
  const [src, setSrc] = useState<string | undefined>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let objectUrl: string | undefined;
    let live = true;
    apiBlob(url).then(
      (blob) => {
        if (!live) return;
        objectUrl = URL.createObjectURL(blob);
        setSrc(objectUrl);
      },
      () => {
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);
  return { ...(src ? { src } : {}), failed };
}

function ChatImage({ url, name }: { url: string; name: string }): React.JSX.Element {
  const { src, failed } = useObjectUrl(url);
  if (failed) return <p className="text muted">{name}</p>;
  return src ? (
    <a href={src} target="_blank" rel="noreferrer" className="image-link">
      <img src={src} alt={name} className="chat-image" />
    </a>
  ) : (
    <span className="image-placeholder" role="img" aria-label={name} />
  );
}

function FileLink({
  url,
  name,
  size,
  label,
}: {
  url: string;
  name: string;
  size: number | undefined;
  label: string;
}): React.JSX.Element {
  const [busy, setBusy] = useState(false);
  const download = (): void => {
    setBusy(true);
    apiBlob(url)
      .then(
        (blob) => {
          const a = document.createElement('a');
          a.href = URL.createObjectURL(blob);
          a.download = name;
          a.click();
          setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        },
        () => undefined,
      )
      .finally(() => setBusy(false));
  };
  const kib =
    size === undefined
      ? ''
      : size < 1024 * 1024
        ? ` · ${Math.ceil(size / 1024)} KB`
        : ` · ${(size / 1048576).toFixed(1)} MB`;
  return (
    <button
      className="file"
      onClick={download}
      disabled={busy}
      aria-busy={busy}
      aria-label={`${label} ${name}`}
    >
      <FileIcon /> {name}
      <span className="muted small">{kib}</span>
    </button>
  );
}

function FileIcon(): React.JSX.Element {
  return (
    <svg
      viewBox="0 0 24 24"
      width="16"
      height="16"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
    >
      <path d="M6 2h8l5 5v15H6z M14 2v5h5" strokeLinejoin="round" />
    </svg>
  );
}
