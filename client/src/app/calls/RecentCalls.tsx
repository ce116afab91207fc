// Placeholder while Chiamate recenti is being built on its own branch (this session): replaced before merge.
export function RecentCalls(): React.JSX.Element {
  return <section aria-label="Chiamate recenti" />;
}
