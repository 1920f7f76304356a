import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import { ARRPC_DEFAULT_PATTERN } from '../constants.js';
import {
  ConnectionLostException,
  InvalidResponseException,
  RpcTimeoutException,
  UnavailableException,
  createRemoteException,
  type ArrpcErrorContext,
  type ArrpcException,
} from '../errors/index.js';
import { MessageEncoder, parseRemoteError, type DecoderLimits } from '../protocol/index.js';
import { AnswerReader, type Answer } from './answer-reader.js';
import type { PendingRequest, RequestLine } from './pending-request.js';
import { answerErrorKinds, encodeRequest, encodingFailure, type RequestEncoding } from './request-encoding.js';

/** Fixed for every connection of one client. */
export interface ConnectionSettings {
  /** The server as `host:port`. */
  readonly endpoint: string;
  /** Requests in flight at most (the `pipeline` option). */
  readonly capacity: number;
  /** The `headOfLineMs` option: 0 when off. */
  readonly headOfLineMs: number;
  readonly limits: DecoderLimits;
  readonly encoding: RequestEncoding;
  /** Set in debug mode only. */
  readonly logger: Logger | undefined;
}

/** What a connection tells its owner. */
export interface ConnectionOwner {
  /** An answer came (an error answer too): the server is alive. Called before the request settles. */
  onAnswer(): void;
  /** Room for another request: an answer came, or the connection retired by age. */
  onRoom(): void;
  /** A request written here timed out or was cancelled (`reason` says which) before its answer. */
  onAbandoned(reason: Error): void;
  /**
   * `request` was answered `UnavailableException` (the server is draining): it never ran. The
   * owner settles it, with `error` or by sending it elsewhere.
   */
  onUnavailable(request: PendingRequest, error: UnavailableException): void;
  /**
   * The server sent its drain notice (an `UnavailableException` answer to no request): it is
   * draining, read nothing after the notice, and ends the connection.
   */
  onDraining(): void;
  /**
   * `request` was in flight when the connection closed: the owner settles it, with `error`
   * (`ConnectionLostException` unless the closer said otherwise) or by sending it again.
   */
  onLost(request: PendingRequest, error: ArrpcException): void;
  /**
   * The connection closed, after its requests in flight were handed to {@link onLost}.
   * `failed`: it broke under requests in flight (or the server sent bytes out of step), which
   * counts against the server; a close the client asked for, or of an idle connection, does not.
   */
  onClose(connection: Connection, error: Error | undefined, failed: boolean): void;
}

/** Builds the error for a request that was in flight when its connection closed. */
export type FailureFactory = (context: ArrpcErrorContext, cause: Error | undefined) => ArrpcException;

const lostConnection: FailureFactory = (context, cause) => new ConnectionLostException(context, cause);

/**
 * Milliseconds a connection waits for the answer of a request given up (timed out, or
 * cancelled with no deadline left) while other requests wait behind it; then it closes.
 */
const ABANDONED_ANSWER_WAIT_MS = 5_000;

/**
 * One socket to the server. Answers carry no request id, so the n-th answer
 * belongs to the n-th request written: requests in flight wait in a FIFO. A
 * request that settles without its answer (timeout, cancellation) keeps its
 * place there, and its answer is read and dropped when it comes; the
 * connection closes once nothing but such requests is in flight, or when such
 * an answer is late (see {@link abandon}). Bytes out of step close it at once.
 */
export class Connection implements RequestLine {
  private readonly inFlight: PendingRequest[] = [];
  /** The bound {@link stalled} applies: the option, or 0 without pipelining (nothing waits behind). */
  private readonly headOfLineMs: number;
  /** Requests given up while others waited behind them, with when their answer must come by. */
  private readonly discards = new Map<PendingRequest, number>();
  private discardTimer: NodeJS.Timeout | undefined;
  private readonly reader: AnswerReader;
  private readonly encoder = new MessageEncoder();
  private closed = false;
  private retiring = false;
  /** An envelope was written here: the server is an `ArrpcServer` (see `answerErrorKinds`). */
  private carriedEnvelopes = false;
  /** An `UnavailableException` answer (or the drain notice) came: the server is draining. */
  private drainSeen = false;
  private ageTimer: NodeJS.Timeout | undefined;
  /** Resolves once the socket has closed. */
  readonly whenClosed: Promise<void>;

  constructor(
    /** The connected `net.Socket` or `tls.TLSSocket`. */
    readonly socket: Socket,
    private readonly settings: ConnectionSettings,
    private readonly owner: ConnectionOwner,
  ) {
    this.reader = new AnswerReader(settings.limits);
    this.headOfLineMs = settings.capacity > 1 ? settings.headOfLineMs : 0;
    this.whenClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.shut(error, lostConnection, this.inFlight.length > 0));
    socket.on('close', () => this.shut(new Error(`connection to ${settings.endpoint} closed by the server`), lostConnection, this.inFlight.length > 0));
  }

  /** The server as `host:port`. */
  get endpoint(): string {
    return this.settings.endpoint;
  }

  /** Requests written and not yet answered. */
  get load(): number {
    return this.inFlight.length;
  }

  /** True when another request may be written now. */
  get hasRoom(): boolean {
    return this.accepting && this.inFlight.length < this.settings.capacity;
  }

  /**
   * True when the oldest request unanswered here was written more than `headOfLineMs` before
   * `now`: a request written now would wait behind it, so it takes none until that answer comes.
   */
  stalled(now: number): boolean {
    const oldest = this.inFlight[0];
    return this.headOfLineMs > 0 && oldest !== undefined && now - oldest.writtenAt > this.headOfLineMs;
  }

  /** True while it takes requests (open, not retiring), room or not. */
  get accepting(): boolean {
    return !this.closed && !this.retiring;
  }

  /**
   * Encodes and writes `request`, with `remainingMs` as its deadline. A
   * request whose data cannot be encoded fails here, nothing written.
   */
  write(request: PendingRequest, remainingMs: number | undefined): void {
    let bytes: Buffer;
    try {
      bytes = encodeRequest(this.encoder, request.message, remainingMs, this.settings.encoding);
    } catch (error) {
      return request.fail(encodingFailure(error as Error, this.contextOf(request)));
    }
    if (!request.markWritten(this, bytes.length)) return;
    if (request.message.pattern !== ARRPC_DEFAULT_PATTERN) this.carriedEnvelopes = true;
    this.inFlight.push(request);
    if (this.headOfLineMs > 0) request.writtenAt = performance.now();
    this.socket.write(bytes);
  }

  /**
   * `request`, written here, settled without its answer (timed out, cancelled). With nothing
   * else waiting here, the connection closes (a reset: an `ArrpcServer` aborts the handler).
   * Otherwise its answer is awaited, to be dropped, until its deadline, or for
   * {@link ABANDONED_ANSWER_WAIT_MS} when it has none left; then the connection closes, and
   * the requests behind it fail with `ConnectionLostException`.
   */
  abandon(request: PendingRequest, reason: Error): void {
    this.owner.onAbandoned(reason);
    if (this.closed || !this.inFlight.includes(request)) return;
    if (!this.awaited()) return this.close(reason);
    // A cancelled request may have time left; a timed-out one has none by definition.
    const left = reason instanceof RpcTimeoutException ? undefined : request.remainingMs();
    this.discards.set(request, performance.now() + (left !== undefined && left > 0 ? left : ABANDONED_ANSWER_WAIT_MS));
    this.watchDiscards();
  }

  /** Takes no more requests; closes once those in flight are answered. */
  retire(): void {
    this.retiring = true;
    if (this.inFlight.length === 0) this.close(undefined);
  }

  /**
   * Retires after `ms` (the `maxConnectionAgeMs` option, jittered by the caller), then tells
   * the owner there is room, so that its waiting requests get a fresh connection.
   */
  retireAfter(ms: number): void {
    this.ageTimer = setTimeout(() => {
      this.retire();
      if (!this.closed) this.owner.onRoom();
    }, ms);
    this.ageTimer.unref();
  }

  /**
   * Closes at once. Requests still in flight go to the owner with `failure`
   * (`ConnectionLostException` by default: they may have run).
   */
  close(reason: Error | undefined, failure: FailureFactory = lostConnection): void {
    this.shut(reason, failure, false);
  }

  private shut(reason: Error | undefined, failure: FailureFactory, failed: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ageTimer);
    clearTimeout(this.discardTimer);
    this.discards.clear();
    if (this.inFlight.length > 0) resetSocket(this.socket);
    else this.socket.destroy();
    for (const request of this.inFlight.splice(0)) {
      // One that timed out or was cancelled has its outcome already: it is never sent again.
      if (request.settled) continue;
      // A draining server runs no envelope it reads after its drain began, and reads nothing after its notice.
      if (this.drainSeen && request.message.pattern !== ARRPC_DEFAULT_PATTERN) {
        this.owner.onUnavailable(request, new UnavailableException('server is draining', this.contextOf(request)));
      } else {
        this.owner.onLost(request, failure(this.contextOf(request), reason));
      }
    }
    this.settings.logger?.debug(`connection to ${this.settings.endpoint} closed${reason ? `: ${reason.message}` : ''}`);
    this.owner.onClose(this, reason, failed);
  }

  private receive(chunk: Buffer): void {
    // Requests given up still count: their answers are read, then dropped.
    const { answers, error, drainNotice } = this.reader.read(chunk, this.inFlight.length);
    for (const answer of answers) {
      this.onAnswer(answer);
      if (this.closed) return;
    }
    if (drainNotice) {
      // The server reads nothing more here: whatever is still in flight never ran (close()).
      this.drainSeen = true;
      this.owner.onDraining();
      return this.close(undefined);
    }
    if (error === undefined) return;
    // Bytes that are not MessagePack, over the limit, or past the answers awaited: the stream
    // is out of step. The oldest request unanswered takes the blame; the others are lost.
    const request = this.inFlight.shift();
    request?.fail(new InvalidResponseException(this.contextOf(request), error));
    this.shut(error, lostConnection, true);
  }

  private onAnswer({ value, refusal }: Answer): void {
    const request = this.inFlight.shift()!;
    this.owner.onAnswer();
    if (request.settled) {
      // The answer of a request given up: nobody wants it.
      this.discards.delete(request);
      this.watchDiscards();
    } else if (refusal) {
      // A refused value (say, int map keys) was still framed: the stream stays in step.
      request.fail(new InvalidResponseException(this.contextOf(request), refusal));
    } else {
      this.settleAnswer(request, value);
    }
    if (this.inFlight.length === 0 ? this.retiring : !this.awaited()) this.close(undefined);
    else if (!this.closed) this.owner.onRoom();
  }

  /** True when a request in flight still waits for its answer. */
  private awaited(): boolean {
    return this.inFlight.some((request) => !request.settled);
  }

  /** Closes the connection when the earliest answer to drop is due and has not come. */
  private watchDiscards(): void {
    clearTimeout(this.discardTimer);
    this.discardTimer = undefined;
    if (this.discards.size === 0) return;
    const due = Math.min(...this.discards.values());
    this.discardTimer = setTimeout(() => {
      this.close(new Error(`${this.settings.endpoint} did not answer a request given up in time`));
    }, Math.max(0, due - performance.now()));
  }

  private settleAnswer(request: PendingRequest, answer: unknown): void {
    const remote = parseRemoteError(answer, answerErrorKinds(this.settings.encoding, request.message, this.carriedEnvelopes));
    if (remote === undefined) return request.succeed(answer);
    const error = createRemoteException(remote, this.contextOf(request));
    if (error instanceof UnavailableException) {
      this.drainSeen = true;
      this.owner.onUnavailable(request, error);
    } else {
      request.fail(error);
    }
  }

  private contextOf(request: PendingRequest): ArrpcErrorContext {
    return { pattern: request.message.pattern, endpoint: this.settings.endpoint };
  }
}

/**
 * Closes a connection whose requests nobody waits for any more. A reset
 * tells an ArrpcServer to abort their handlers at once; a FIN would read as
 * a half-close (as Python clients do), whose answers are still wanted. A TLS
 * socket cannot be reset: it is closed as usual.
 */
function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
