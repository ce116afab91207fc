import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type Express, type RequestHandler, type Router } from 'express';
import compression from 'compression';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import { metaRoutes } from '../../shared/rest/contract.js';
import { openApiDocument } from '../../shared/rest/openapi.js';
import { REPO_ROOT } from '../config.js';
import { UnauthenticatedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { apiNotFound, errorMiddleware } from './errorMiddleware.js';
import { apiFallback } from './methodNotAllowed.js';
import { runProbes, type ReadinessProbe } from './readiness.js';

export interface AppDependencies {
  logger: Logger;
  metrics: Registry;
  probes: readonly ReadinessProbe[];
  probeTimeoutMs: number;
  /** PUBLIC_URL: an https one makes the CSP upgrade insecure requests (on plain HTTP that would break the app). */
  publicUrl: string;
  /** When set, /metrics answers only `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string | undefined;
  /** Resolves the caller from the bearer token for every /api route. */
  authenticate: RequestHandler;
  /**
   * Domain routers, mounted under /api at their path. Each parses its own bodies, after its authorization: the
   * app reads no body before it knows the caller.
   */
  routers: readonly { path: string; router: Router }[];
  /** Routers mounted at the root, outside /api (the Matrix application-service API Synapse calls). */
  rootRouters?: readonly Router[];
}

/** The express app: operational endpoints, the REST API under /api, and the client's static files. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Chat images and files are fetched with the bearer token and shown from blob: URLs.
          'img-src': ["'self'", 'data:', 'blob:'],
          'media-src': ["'self'", 'blob:'],
          // helmet's default; null leaves it out.
          'upgrade-insecure-requests': deps.publicUrl.startsWith('https:') ? [] : null,
        },
      },
    }),
  );

  // gzip for the client's scripts and styles and the API's JSON: the guest page's first load is ~290 KiB of
  // JavaScript raw, ~90 KiB compressed. (socket.io has its own per-message deflate setting.)
  app.use(compression());

  // Liveness: the event loop answers. Nothing else is checked, so a slow dependency never restarts us.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const report = await runProbes(deps.probes, deps.probeTimeoutMs);
    res
      .status(report.ready ? 200 : 503)
      .json({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
  });

  const metricsAuth = bearerCheck(deps.metricsToken);
  app.get('/metrics', metricsAuth, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });

  for (const router of deps.rootRouters ?? []) app.use(router);

  const api = express.Router();
  // The contract as OpenAPI 3.1, built once; before authentication, so it never waits on the database.
  let openApi: string | undefined;
  api.get(metaRoutes.openapi.path, (_req, res) => {
    openApi ??= JSON.stringify(openApiDocument());
    res.type('application/json').send(openApi);
  });
  api.use(cookieParser());
  api.use(deps.authenticate);
  for (const { path: mount, router } of deps.routers) api.use(mount, router);
  api.use(apiFallback());
  app.use('/api', api);

  // The built client (client/vite.config.ts) first, then the static files it does not replace.
  app.use(
    express.static(path.join(REPO_ROOT, 'client', 'dist'), {
      index: 'index.html',
      setHeaders: clientCacheHeaders,
    }),
  );
  app.use(express.static(path.join(REPO_ROOT, 'client', 'public'), { index: 'index.html' }));
  // The web app's own routes (guest links /m/<code>, meeting links /meetings/<id>, the password reset link from
  // the recovery mail) load its page, which reads the path.
  const appPage = path.join(REPO_ROOT, 'client', 'dist', 'index.html');
  app.get(['/m/:code', '/meetings/:id', '/reset-password'], (_req, res, next) => {
    res.sendFile(appPage, (err) => {
      if (err) next();
    });
  });
  app.use(apiNotFound);
  app.use(errorMiddleware(deps.logger.child({ component: 'http' })));
  return app;
}

/** Passes only `Authorization: Bearer <token>` when a token is set; without one, everyone. */
function bearerCheck(token: string | undefined): RequestHandler {
  if (token === undefined) return (_req, _res, next) => next();
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const expected = digest(token);
  return (req, res, next) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    next(new UnauthenticatedError('The metrics need their bearer token'));
  };
}

/**
 * Files under assets/ have a content hash in their name, so browsers may keep them for good. The service worker
 * must be checked at every load (browsers then see a new build's worker at once); pages revalidate by default.
 */
function clientCacheHeaders(res: ServerResponse, file: string): void {
  const name = path.basename(file);
  if (name === 'sw.js') res.setHeader('Cache-Control', 'no-cache');
  else if (path.basename(path.dirname(file)) === 'assets')
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
}
