const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

/** The twelve keys of a phone; `label` names the group for screen readers. */
export function DialPad({
  label,
  onKey,
}: {
  label: string;
  onKey: (key: string) => void;
}): React.JSX.Element {
  return (
    <div className="dialpad" role="group" aria-label={label}>
      {KEYS.map((k) => (
        <button key={k} type="button" className="dialpad-key" onClick={() => onKey(k)}>
          {k}
        </button>
      ))}
    </div>
  );
}
