import { Agent, request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/**
 * HTTP with nothing checked or fixed on the way: any method, path, header or body bytes (fetch would refuse a
 * wrong Content-Length or encode the path). For the abuse tests.
 */
export function rawHttp(baseUrl: string, options: { maxSockets?: number } = {}) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 4 });
  const send = (req: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
      const headers: Record<string, string> = { ...req.headers };
      if (
        body !== undefined &&
        !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))
      )
        headers['Content-Length'] = String(body.byteLength);
      const r = request(
        { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  return { send, close: () => agent.destroy() };
}
