import { ConnectException, type ArrpcConnectAttempt } from '../errors/index.js';
import type { Endpoint } from './endpoint.js';
import type { PendingRequest } from './pending-request.js';

/**
 * The `ConnectException` that ends `request` on `endpoint`, where an opening gave up after
 * `attempts` (or, when `attempts` is undefined, where nothing can serve it any more). It lists
 * every endpoint the request was on; with one, the message is the reference's own
 * (`Failed to connect to HOST:PORT with N attempts`).
 */
export function connectFailure(request: PendingRequest, endpoint: Endpoint, attempts: number | undefined, cause?: unknown): ConnectException {
  const tried: ArrpcConnectAttempt[] = (request.visits ?? []).map(({ endpoint: visited, attempts: made, note }) =>
    made === 0 ? { endpoint: visited.address, attempts: 0, skipped: note ?? 'skipped' } : { endpoint: visited.address, attempts: made },
  );
  const here = attempts ?? request.attemptsHere;
  tried.push(here === 0 ? { endpoint: endpoint.address, attempts: 0, skipped: endpoint.state } : { endpoint: endpoint.address, attempts: here });
  const total = tried.reduce((sum, entry) => sum + entry.attempts, 0);
  return new ConnectException({ pattern: request.message.pattern, endpoint: endpoint.address }, total, cause, tried);
}

/**
 * The `ConnectException` for a request that no endpoint may take: each is ejected (or none is
 * known, `target` naming what was looked up, with `lookupError` saying why).
 */
export function noEndpointFailure(
  request: PendingRequest,
  endpoints: readonly Endpoint[],
  target: string,
  lookupError: Error | undefined,
): ConnectException {
  const tried: ArrpcConnectAttempt[] =
    endpoints.length > 0
      ? endpoints.map((endpoint) => ({ endpoint: endpoint.address, attempts: 0, skipped: endpoint.state }))
      : [{ endpoint: target, attempts: 0, skipped: lookupError ? `DNS lookup failed: ${lookupError.message}` : 'no address' }];
  return new ConnectException({ pattern: request.message.pattern, endpoint: tried[0]!.endpoint }, 0, lookupError, tried);
}
