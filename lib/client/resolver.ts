import type { ArrpcEndpointAddress, ArrpcLookup } from '../options/index.js';

/** What a resolver reports. */
export interface ResolverOwner {
  /** A lookup succeeded with these addresses (never empty, no duplicates). */
  onAddresses(addresses: readonly ArrpcEndpointAddress[]): void;
  /** A lookup failed (or found nothing): the last good set stays. */
  onLookupError(error: Error): void;
}

/**
 * Turns one host name into endpoints with `resolve: 'dns'`: every address the lookup returns
 * (all A and AAAA records, as Node's `dns.lookup` with `{ all: true }` gives them) on the one
 * port. Looks up again every `intervalMs` (0: never by itself) and whenever asked
 * ({@link refresh}); lookups never overlap.
 */
export class Resolver {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resolvedOnce = false;

  constructor(
    private readonly target: ArrpcEndpointAddress,
    private readonly lookup: ArrpcLookup,
    private readonly intervalMs: number,
    private readonly owner: ResolverOwner,
  ) {}

  /** True once a lookup has succeeded. */
  get resolved(): boolean {
    return this.resolvedOnce;
  }

  /** Looks up now, unless a lookup is under way (then joins it); never rejects. */
  refresh(): Promise<void> {
    this.running ??= this.lookupOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Starts the periodic lookups (no-op when they run, or with an interval of 0). */
  start(): void {
    if (this.timer !== undefined || this.intervalMs === 0) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    // Discovery alone must not keep a process alive.
    this.timer.unref();
  }

  /** Stops the periodic lookups; one under way still reports. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async lookupOnce(): Promise<void> {
    const { host, port } = this.target;
    let addresses: string[];
    try {
      const found = await new Promise<readonly { address: string }[]>((resolve, reject) => {
        this.lookup(host, { all: true }, (error, entries) => (error ? reject(error) : resolve(entries ?? [])));
      });
      addresses = [...new Set(found.map((entry) => entry.address))];
      if (addresses.length === 0) throw new Error(`DNS lookup of ${host} found no address`);
    } catch (error) {
      return this.owner.onLookupError(error instanceof Error ? error : new Error(String(error)));
    }
    this.resolvedOnce = true;
    this.owner.onAddresses(addresses.map((address) => Object.freeze({ host: address, port })));
  }
}
