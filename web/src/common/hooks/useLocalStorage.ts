import { useCallback, useState } from 'react';

/**
 * State kept in localStorage under `key`. `parse` validates what was stored (it may come from an
 * older version of the UI) and returns undefined to fall back to `initial`.
 */
export function useLocalStorage<T>(key: string, initial: T, parse: (raw: unknown) => T | undefined): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.localStorage.getItem(key);
      if (raw === null) return initial;
      return parse(JSON.parse(raw)) ?? initial;
    } catch {
      return initial;
    }
  });
  const store = useCallback(
    (next: T) => {
      setValue(next);
      try {
        window.localStorage.setItem(key, JSON.stringify(next));
      } catch {
        // storage full or disabled: keep the in-memory value
      }
    },
    [key],
  );
  return [value, store];
}
