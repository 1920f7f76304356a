import type { Socket } from 'node:net';
import { connectSocket, type SocketTarget } from '../client/connect-socket.js';
import type { ProbeExchange } from '../client/probe.js';
import { encodeRequest } from '../client/request-encoding.js';
import { MessageDecoder, MessageEncoder, RemoteErrorKind, parseRemoteError } from '../protocol/index.js';

/** What one health round trip found. */
export type ProbeOutcome =
  | { readonly state: 'up' }
  /** `draining`: the server answered `UnavailableException`. `down`: anything else went wrong. */
  | { readonly state: 'down' | 'draining'; readonly message: string };

/** A failure worth one more try on a fresh connection: the kept one had gone stale. */
class StaleConnection extends Error {}

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
  private socket: Socket | undefined;
  private onAnswer: ((answer: unknown) => void) | undefined;
  private onLost: ((error: Error) => void) | undefined;
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
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  private async run(exchange: ProbeExchange, timeoutMs: number): Promise<ProbeOutcome> {
    const deadline = performance.now() + timeoutMs;
    try {
      const reused = this.socket !== undefined;
      try {
        return await this.exchange(exchange, deadline, reused);
      } catch (error) {
        // The kept connection died since the last check (the server restarted, an idle
        // timeout): the server deserves a fresh connection before it is called down.
        if (!(error instanceof StaleConnection)) throw error;
        return await this.exchange(exchange, deadline, false);
      }
    } catch (error) {
      this.close();
      return { state: 'down', message: (error as Error).message };
    }
  }

  private async exchange(exchange: ProbeExchange, deadline: number, reused: boolean): Promise<ProbeOutcome> {
    const socket = this.socket ?? (await this.open(exchange, deadline));
    const remainingMs = Math.max(1, Math.floor(deadline - performance.now()));
    const answer = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no answer within ${remainingMs} ms`));
      }, remainingMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.onAnswer = undefined;
        this.onLost = undefined;
      };
      this.onAnswer = (value) => {
        settle();
        resolve(value);
      };
      this.onLost = (error) => {
        settle();
        reject(reused ? new StaleConnection(error.message) : error);
      };
      socket.write(encodeRequest(this.encoder, exchange.message, remainingMs, exchange.encoding));
    });
    const remote = parseRemoteError(answer, exchange.encoding.profile.errorKinds);
    if (remote?.kind === RemoteErrorKind.Unavailable) {
      this.close();
      return { state: 'draining', message: remote.message };
    }
    const refusal = remote ? `answered ${remote.kind}: ${remote.message}` : exchange.check(answer);
    return refusal === undefined ? { state: 'up' } : { state: 'down', message: refusal };
  }

  private async open(exchange: ProbeExchange, deadline: number): Promise<Socket> {
    const timeoutMs = Math.max(1, Math.floor(deadline - performance.now()));
    const socket = await connectSocket({ ...this.target, timeoutMs }, new AbortController().signal);
    // A health connection alone must not keep a process alive.
    socket.unref();
    const decoder = new MessageDecoder(exchange.limits);
    this.socket = socket;
    const lost = (error: Error): void => {
      // A connection dropped earlier may report its end late: only the current one matters.
      if (this.socket !== socket) return;
      this.close();
      this.onLost?.(error);
    };
    socket.on('data', (chunk: Buffer) => {
      const answers: unknown[] = [];
      try {
        decoder.write(chunk, (value) => answers.push(value));
      } catch (error) {
        return lost(error as Error);
      }
      // Anything but exactly one answer to one request leaves the connection out of step.
      if (answers.length === 0) return;
      const deliver = this.onAnswer;
      if (deliver === undefined || answers.length > 1 || decoder.hasPartialMessage) return lost(new Error('the server answered out of turn'));
      deliver(answers[0]);
    });
    socket.on('error', (error) => lost(error));
    socket.on('close', () => lost(new Error('the server closed the connection')));
    return socket;
  }
}
