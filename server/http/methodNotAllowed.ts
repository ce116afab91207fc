import type { RequestHandler } from 'express';
import { restContract } from '../../shared/rest/contract.js';
import type { RouteDef } from '../../shared/rest/route.js';
import { AppError, NotFoundError } from '../errors.js';

interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

/** Express's `/rooms/:roomId/files` as a regex over the path below /api (a parameter is one non-empty segment). */
function patternOf(mountAndPath: string): RegExp {
  const source = mountAndPath
    .replace(/^\/api/, '')
    .replace(/\/$/, '')
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** Every path of the REST contract with the methods it takes (GET also answers HEAD, as express does). */
function knownPaths(contract: Record<string, Record<string, RouteDef>> = restContract): KnownPath[] {
  const byPattern = new Map<string, KnownPath>();
  for (const area of Object.values(contract)) {
    for (const route of Object.values(area)) {
      const pattern = patternOf(`${route.mount}${route.path}`);
      const known = byPattern.get(pattern.source) ?? { pattern, methods: new Set<string>() };
      known.methods.add(route.method.toUpperCase());
      if (route.method === 'get') known.methods.add('HEAD');
      byPattern.set(pattern.source, known);
    }
  }
  return [...byPattern.values()];
}

/**
 * The end of /api: a path the contract has, asked with a method it does not take, is 405 METHOD_NOT_ALLOWED with
 * `Allow` (RFC 9110 §15.5.6); any other path is 404. Mounted after every router, so it only sees what none took.
 */
export function apiFallback(): RequestHandler {
  const paths = knownPaths();
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const known of paths) {
      // A literal segment beats a parameter (`/me` over `/:id`), as the routers do: both may match here.
      if (known.pattern.test(req.path)) for (const m of known.methods) allowed.add(m);
    }
    if (allowed.size === 0 || allowed.has(req.method)) {
      next(new NotFoundError(`No route for ${req.method} ${req.path}`));
      return;
    }
    const allow = [...allowed].sort().join(', ');
    res.setHeader('Allow', allow);
    next(AppError.of('METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use ${allow}`));
  };
}
