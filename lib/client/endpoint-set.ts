import type { ArrpcEndpointAddress } from '../options/index.js';
import { formatAddress } from './connect-socket.js';
import type { Endpoint } from './endpoint.js';
import type { PendingRequest } from './pending-request.js';
import type { Picker } from './picker.js';

/**
 * The endpoints of one client, and the choice of one for each request. Candidates come in
 * tiers, the first non-empty one wins, and the picker chooses within it:
 * 1. healthy endpoints (`idle`, `up`) that are not struggling (no connection open and the
 *    latest tries failed);
 * 2. healthy endpoints that are struggling: a request waits out their retries;
 * 3. for a new request only, `draining` endpoints: one server that drains, with no other,
 *    may be a Service address whose next connection reaches another replica.
 * An endpoint the request has already been on is never a candidate again. Ejected and
 * removed endpoints never are.
 */
export class EndpointSet {
  private list: Endpoint[] = [];
  /** Reused by every choice: no array is allocated per request. */
  private readonly scratch: Endpoint[] = [];

  constructor(
    private readonly picker: Picker,
    private readonly create: (address: ArrpcEndpointAddress) => Endpoint,
  ) {}

  /** The current endpoints, in the order they were given or resolved. */
  get endpoints(): readonly Endpoint[] {
    return this.list;
  }

  /**
   * Makes the set exactly `addresses`: keeps the endpoints still there (with their connections
   * and health), creates the new ones, and returns those that left (for the caller to remove).
   */
  update(addresses: readonly ArrpcEndpointAddress[]): Endpoint[] {
    const kept = new Map(this.list.map((endpoint) => [endpoint.address, endpoint]));
    const next = addresses.map((address) => {
      const key = formatAddress(address.host, address.port);
      const existing = kept.get(key);
      kept.delete(key);
      return existing ?? this.create(address);
    });
    this.list = next;
    return [...kept.values()];
  }

  /**
   * The endpoint for `request` (see the tiers above); `undefined` when none may take it.
   * `fresh`: a request not sent anywhere yet, which may fall back to draining endpoints.
   */
  choose(request: PendingRequest, fresh: boolean): Endpoint | undefined {
    const untried = (endpoint: Endpoint): boolean => !request.hasTried(endpoint);
    return (
      this.pickWhere((endpoint) => endpoint.healthy && !endpoint.struggling && untried(endpoint)) ??
      this.pickWhere((endpoint) => endpoint.healthy && untried(endpoint)) ??
      (fresh ? this.pickWhere((endpoint) => endpoint.state === 'draining' && untried(endpoint)) : undefined)
    );
  }

  private pickWhere(test: (endpoint: Endpoint) => boolean): Endpoint | undefined {
    const candidates = this.scratch;
    for (const endpoint of this.list) if (test(endpoint)) candidates.push(endpoint);
    const chosen = this.picker.pick(candidates);
    candidates.length = 0;
    return chosen;
  }
}
