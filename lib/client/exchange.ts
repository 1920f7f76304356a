import type { Socket } from 'node:net';
import type { DecoderLimits } from '../protocol/index.js';
import { AnswerReader } from './answer-reader.js';

/** The socket closed or failed under an exchange (or before it): a fresh connection may do better. */
export class SocketEndedError extends Error {
  override readonly name = 'SocketEndedError';
}

/**
 * One request at a time on one socket, each with exactly one answer: what a probe and a health
 * check do (a `Connection` reads its pipelined answers with the same {@link AnswerReader}).
 * Anything else (a byte past the answer or between exchanges, no answer in time, the socket
 * ending) breaks it for good: the socket may be out of step and must not be used again.
 */
export class SocketExchange {
  private readonly reader: AnswerReader;
  private waiter: { resolve(value: unknown): void; reject(error: Error): void } | undefined;
  private failure: Error | undefined;

  constructor(
    readonly socket: Socket,
    limits: DecoderLimits,
  ) {
    this.reader = new AnswerReader(limits);
    socket.on('data', this.onData).on('error', this.onError).on('close', this.onClose);
  }

  /** Why it can take no more exchanges; `undefined` while it can. */
  get broken(): Error | undefined {
    return this.failure;
  }

  /**
   * Writes `bytes` (one encoded request) and resolves with the answer's value. Rejects when no
   * answer comes within `timeoutMs`, `signal` aborts, the answer is refused or out of step, or
   * the socket ends ({@link SocketEndedError}); the exchange is broken from then on.
   */
  send(bytes: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      const onAbort = (): void => this.break(signal!.reason as Error);
      const timer = setTimeout(() => this.break(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      };
      this.socket.write(bytes);
    });
  }

  /** Stops reading, and hands the socket, in step, to its next owner (a probe's to a `Connection`). */
  release(): Socket {
    this.socket.off('data', this.onData).off('error', this.onError).off('close', this.onClose);
    return this.socket;
  }

  private readonly onData = (chunk: Buffer): void => {
    const { answers, error } = this.reader.read(chunk, this.waiter === undefined ? 0 : 1);
    if (error !== undefined) return this.break(error);
    const answer = answers[0];
    if (answer === undefined) return;
    if (answer.refusal !== undefined) this.break(answer.refusal);
    else this.waiter!.resolve(answer.value);
  };

  private readonly onError = (error: Error): void => this.break(new SocketEndedError(error.message));

  private readonly onClose = (): void => this.break(new SocketEndedError('the server closed the connection'));

  private break(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
    this.waiter?.reject(error);
  }
}
