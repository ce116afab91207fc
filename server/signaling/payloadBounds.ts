import type { ErrorDetail } from '../../shared/errors.js';

export interface PayloadBounds {
  /** Nesting levels of objects and arrays; the request itself is level 1. */
  maxDepth: number;
  /** Objects, arrays and values in all, counted once each. */
  maxNodes: number;
}

/**
 * Keys that reach the prototype machinery when copied into an object (zod's loose objects copy unknown keys):
 * no request of ours has them, so they are refused wherever they appear.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Checks the shape of a decoded payload before zod sees it: bounded depth and size, no prototype keys. It walks
 * with its own stack (no recursion, so a deep payload cannot overflow ours) and stops at the first problem.
 * Returns the problem, or undefined when the payload is within bounds.
 */
export function payloadProblem(payload: unknown, bounds: PayloadBounds): ErrorDetail | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: payload, depth: 1, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item) break;
    if (++nodes > bounds.maxNodes)
      return { path: '', message: `more than ${bounds.maxNodes} values in the request` };
    const { value, depth, path } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > bounds.maxDepth) return { path, message: `nested deeper than ${bounds.maxDepth} levels` };
    const width = Array.isArray(value) ? value.length : Object.keys(value).length;
    // Refused before its children are stacked: a huge array must not be copied first.
    if (nodes + stack.length + width > bounds.maxNodes)
      return { path, message: `more than ${bounds.maxNodes} values in the request` };
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: join(path, String(i)) }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return { path: join(path, key), message: 'a reserved key' };
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: join(path, key) });
    }
  }
  return undefined;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
