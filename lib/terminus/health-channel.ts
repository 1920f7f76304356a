import { connectSocket, type SocketTarget } from '../client/connect-socket.js';
import { SocketEndedError, SocketExchange } from '../client/exchange.js';
import { askProbe, type ProbeExchange } from '../client/probe.js';
import { MessageEncoder, RemoteErrorKind } from '../protocol/index.js';

/** What one health round trip found. */
export type ProbeOutcome =
  | { readonly state: 'up' }
  /** `draining`: the server answered `UnavailableException`. `down`: anything else went wrong. */
  | { readonly state: 'down' | 'draining'; readonly message: string };

/**
 * The health checker's own connection to one endpoint, kept open between checks. A draining
 * server stops accepting connections but still answers on open ones (PROTOCOL.md part 2,
 * "Closing a server"): only a connection opened before the drain can hear it say so. Kept
 * apart from the client's pool, so a check never queues behind requests, and a check that
 * fails never counts against the endpoint or replaces a connection a request uses.
 *
 * One exchange at a time; checks that come while one runs share its outcome. The connection is
 * dropped whenever it may be out of step (no answer in time, a stray byte), and after the
 * server said it drains, so it does not hold that drain open.
 */
export class HealthChannel {
  private exchange: SocketExchange | undefined;
  private running: Promise<ProbeOutcome> | undefined;
  private readonly encoder = new MessageEncoder();

  constructor(private readonly target: Omit<SocketTarget, 'timeoutMs'>) {}

  /** One round trip of `exchange` within `timeoutMs` (connecting included). */
  check(exchange: ProbeExchange, timeoutMs: number): Promise<ProbeOutcome> {
    this.running ??= this.run(exchange, timeoutMs).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Drops the connection. A later check opens another. */
  close(): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.socket.destroy();
  }

  private async run(probe: ProbeExchange, timeoutMs: number): Promise<ProbeOutcome> {
    const deadline = performance.now() + timeoutMs;
    try {
      const kept = this.exchange?.broken === undefined ? this.exchange : undefined;
      try {
        return await this.roundTrip(probe, deadline, kept);
      } catch (error) {
        // The kept connection died since the last check (the server restarted, an idle
        // timeout): the server deserves a fresh connection before it is called down.
        if (kept === undefined || !(error instanceof SocketEndedError)) throw error;
        return await this.roundTrip(probe, deadline, undefined);
      }
    } catch (error) {
      this.close();
      return { state: 'down', message: (error as Error).message };
    }
  }

  private async roundTrip(probe: ProbeExchange, deadline: number, kept: SocketExchange | undefined): Promise<ProbeOutcome> {
    const exchange = kept ?? (await this.open(probe, deadline));
    const remainingMs = Math.max(1, Math.floor(deadline - performance.now()));
    const { remote, refusal } = await askProbe(exchange, probe, this.encoder, remainingMs);
    if (remote?.kind === RemoteErrorKind.Unavailable) {
      this.close();
      return { state: 'draining', message: remote.message };
    }
    return refusal === undefined ? { state: 'up' } : { state: 'down', message: refusal };
  }

  private async open(probe: ProbeExchange, deadline: number): Promise<SocketExchange> {
    this.close();
    const timeoutMs = Math.max(1, Math.floor(deadline - performance.now()));
    const socket = await connectSocket({ ...this.target, timeoutMs }, new AbortController().signal);
    // A health connection alone must not keep a process alive.
    socket.unref();
    this.exchange = new SocketExchange(socket, probe.limits);
    return this.exchange;
  }
}
