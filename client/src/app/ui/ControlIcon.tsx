/** The room's control icons: simple strokes of our own, sized by the font and coloured by the text. */
export type ControlIconName = 'mic' | 'micOff' | 'camera' | 'cameraOff' | 'screen' | 'hand' | 'leave' | 'end';

const PATHS: Record<ControlIconName, string> = {
  mic: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M5 11a7 7 0 0 0 14 0 M12 18v3',
  micOff: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M5 11a7 7 0 0 0 14 0 M12 18v3 M4 4l16 16',
  camera: 'M3 7h12v10H3z M15 10l6-3v10l-6-3',
  cameraOff: 'M3 7h12v10H3z M15 10l6-3v10l-6-3 M3 3l18 18',
  screen: 'M3 4h18v12H3z M8 20h8 M12 16v4 M9 10l3-3 3 3 M12 7v6',
  hand: 'M8 13V5a1.5 1.5 0 0 1 3 0v6 M11 11V4a1.5 1.5 0 0 1 3 0v7 M14 11V6a1.5 1.5 0 0 1 3 0v8a6 6 0 0 1-6 6h-1a5 5 0 0 1-4-2l-3-4a1.5 1.5 0 0 1 2.5-1.7L8 14',
  leave: 'M10 5H5v14h5 M14 8l4 4-4 4 M18 12H9',
  end: 'M5 5h14v14H5z',
};

export function ControlIcon({ name }: { name: ControlIconName }): React.JSX.Element {
  return (
    <svg
      className="control-icon"
      viewBox="0 0 24 24"
      width="1.2em"
      height="1.2em"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
