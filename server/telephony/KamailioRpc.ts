import { ServiceUnavailableError } from '../errors.js';

/** A JSON-RPC error answered by Kamailio (the call reached it and it said no). */
export class KamailioRpcError extends Error {
  constructor(
    readonly method: string,
    readonly rpcCode: number,
    message: string,
  ) {
    super(`${method}: ${message}`);
    this.name = 'KamailioRpcError';
  }
}

/** JSON-RPC 2.0 over HTTP to Kamailio's `/RPC` (xhttp + jsonrpcs), with the token the generated config asks for. */
export class KamailioRpc {
  readonly #url: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  #nextId = 1;

  constructor(url: string, token: string, timeoutMs = 2_000) {
    this.#url = url;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  /** Kamailio unreachable → ServiceUnavailableError; an RPC error → KamailioRpcError. */
  async call(method: string, params: (string | number)[] = []): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(this.#url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Ucc-Rpc-Token': this.#token },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.#nextId++, method, params }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch {
      throw new ServiceUnavailableError('The telephony server (Kamailio) is not reachable');
    }
    const text = await res.text();
    let body: { result?: unknown; error?: { code?: number; message?: string } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    // jsonrpcs answers an RPC error (e.g. ul.lookup of an AoR with no binding: 404) with HTTP 500 and its body.
    if (!res.ok && !body?.error)
      throw new ServiceUnavailableError(`The telephony server answered ${res.status}`);
    if (!body) throw new ServiceUnavailableError('The telephony server sent an unreadable answer');
    if (body.error) throw new KamailioRpcError(method, body.error.code ?? 0, body.error.message ?? 'error');
    return body.result;
  }
}
