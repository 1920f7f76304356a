/** Why an endpoint came up: its first connection opened, or a probe readmitted it. */
export type ArrpcEndpointUpReason = 'connected' | 'readmitted';

/**
 * Why an endpoint went down: `ejected` (it failed `ejectAfterFailures` times in a row),
 * `draining` (it answered `UnavailableException`), `removed` (it left the DNS answer).
 */
export type ArrpcEndpointDownReason = 'ejected' | 'draining' | 'removed';

/**
 * Events of `ArrpcClient#on`. `endpoint` is the server as `host:port`.
 * Listeners registered before the first connection stay for every later one.
 */
export type ArrpcClientEvents = {
  /** An endpoint is healthy: it takes requests (the `status` stream says `connected` while one is). */
  'endpoint-up': (endpoint: string, reason: ArrpcEndpointUpReason) => void;
  /** An endpoint takes no new requests any more; `error` is the failure that ejected it. */
  'endpoint-down': (endpoint: string, reason: ArrpcEndpointDownReason, error?: Error) => void;
  /** A connection opened (after the TLS handshake, with TLS). */
  connect: (endpoint: string) => void;
  /** A connection closed; `error` says why when it was not the client's own doing. */
  disconnect: (endpoint: string, error?: Error) => void;
  /** Connection attempt `attempt` failed with `error`; the next starts in `delayMs`. */
  retry: (endpoint: string, attempt: number, delayMs: number, error: Error) => void;
  /** Connecting gave up: the `ConnectException` the waiting calls end with. */
  error: (error: Error) => void;
};

/** Delivers client events to the listeners registered with `on()`. */
export class ClientEventListeners {
  private readonly listeners = new Map<keyof ArrpcClientEvents, Function[]>();

  /** Adds `listener` for `event`; listeners are called in the order added. */
  add(event: keyof ArrpcClientEvents, listener: Function): void {
    const list = this.listeners.get(event);
    if (list) list.push(listener);
    else this.listeners.set(event, [listener]);
  }

  /**
   * Calls every listener of `event`. A listener that throws must not break
   * the connection logic that emitted the event, so its error is rethrown
   * on a later tick, where Node reports it as uncaught.
   */
  emit<K extends keyof ArrpcClientEvents>(event: K, ...args: Parameters<ArrpcClientEvents[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
