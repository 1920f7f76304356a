import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import {
  ConnectionLostException,
  InvalidResponseException,
  UnavailableException,
  createRemoteException,
  type ArrpcErrorContext,
  type ArrpcException,
} from '../errors/index.js';
import type { ClientEndpointMetrics } from '../metrics/index.js';
import { MessageEncoder, parseRemoteError, type DecoderLimits } from '../protocol/index.js';
import { AnswerReader, type Answer } from './answer-reader.js';
import type { PendingRequest } from './pending-request.js';
import { answerErrorKinds, encodeRequest, encodingFailure, type RequestEncoding } from './request-encoding.js';

/** Fixed for every connection of one client. */
export interface ConnectionSettings {
  /** The server as `host:port`. */
  readonly endpoint: string;
  /** Requests in flight at most (the `pipeline` option). */
  readonly capacity: number;
  readonly limits: DecoderLimits;
  readonly encoding: RequestEncoding;
  /** Set in debug mode only. */
  readonly logger: Logger | undefined;
  /** The endpoint's metrics; `undefined` with metrics off. */
  readonly metrics: ClientEndpointMetrics | undefined;
}

/** What a connection tells its owner. */
export interface ConnectionOwner {
  /** An answer came (an error answer too): the server is alive. Called before the request settles. */
  onAnswer(connection: Connection): void;
  /** Room for another request: an answer came, or the connection retired by age. */
  onRoom(connection: Connection): void;
  /**
   * `request` was answered `UnavailableException` (the server is draining): it never ran. The
   * owner settles it, with `error` or by sending it elsewhere.
   */
  onUnavailable(connection: Connection, request: PendingRequest, error: UnavailableException): void;
  /**
   * `request` was in flight when the connection closed: the owner settles it, with `error`
   * (`ConnectionLostException` unless the closer said otherwise) or by sending it again.
   */
  onLost(connection: Connection, request: PendingRequest, error: ArrpcException): void;
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
 * One socket to the server. Answers carry no request id, so the n-th answer
 * belongs to the n-th request written: requests in flight wait in a FIFO, and
 * any request that ends without its answer (timeout, cancellation, bad bytes)
 * closes the connection, since a late answer would go to the wrong caller.
 */
export class Connection {
  private readonly inFlight: PendingRequest[] = [];
  private readonly reader: AnswerReader;
  private readonly encoder = new MessageEncoder();
  private closed = false;
  private retiring = false;
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
    return !this.closed && !this.retiring && this.inFlight.length < this.settings.capacity;
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
    request.state = 'written';
    request.connection = this;
    request.bytes = bytes.length;
    if (this.settings.metrics !== undefined) request.metrics = this.settings.metrics;
    this.inFlight.push(request);
    this.socket.write(bytes);
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
      if (!this.closed) this.owner.onRoom(this);
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
    if (this.inFlight.length > 0) abandon(this.socket);
    else this.socket.destroy();
    for (const request of this.inFlight.splice(0)) this.owner.onLost(this, request, failure(this.contextOf(request), reason));
    this.settings.logger?.debug(`connection to ${this.settings.endpoint} closed${reason ? `: ${reason.message}` : ''}`);
    this.owner.onClose(this, reason, failed);
  }

  private receive(chunk: Buffer): void {
    const { answers, error } = this.reader.read(chunk, this.inFlight.length);
    for (const answer of answers) {
      this.onAnswer(answer);
      if (this.closed) return;
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
    this.owner.onAnswer(this);
    // A refused value (say, int map keys) was still framed: the stream stays in step.
    if (refusal) request.fail(new InvalidResponseException(this.contextOf(request), refusal));
    else this.settleAnswer(request, value);
    if (this.retiring && this.inFlight.length === 0) this.close(undefined);
    else if (!this.closed) this.owner.onRoom(this);
  }

  private settleAnswer(request: PendingRequest, answer: unknown): void {
    const remote = parseRemoteError(answer, answerErrorKinds(this.settings.encoding, request.message));
    if (remote === undefined) return request.succeed(answer);
    const error = createRemoteException(remote, this.contextOf(request));
    if (error instanceof UnavailableException) this.owner.onUnavailable(this, request, error);
    else request.fail(error);
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
function abandon(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
