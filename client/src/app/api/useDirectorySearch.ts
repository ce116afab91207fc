import { useEffect, useState } from 'react';
import { api, type PublicUser } from './api.js';

/** Colleagues matching `query` (name or extension), debounced; an empty query gives no results. */
export function useDirectorySearch(
  query: string,
  pageSize = 8,
): { results: PublicUser[]; searching: boolean } {
  const [results, setResults] = useState<PublicUser[]>([]);
  const [searching, setSearching] = useState(false);
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setResults([]);
      setSearching(false);
      return;
    }
    let live = true;
    setSearching(true);
    const timer = setTimeout(() => {
      api<{ items: PublicUser[] }>('GET', `/api/directory?q=${encodeURIComponent(q)}&pageSize=${pageSize}`)
        .then(
          (r) => {
            if (live) setResults(r.items);
          },
          () => undefined,
        )
        .finally(() => {
          if (live) setSearching(false);
        });
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query, pageSize]);
  return { results, searching };
}
