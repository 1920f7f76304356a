import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import type { ServerConnectionMetrics } from '../metrics/recorder.js';
import type { ResolvedServerOptions } from '../options/server-options.js';
import { MessageDecoder, type MessageEncoder, type MessageHandler, type SharedBudget } from '../protocol/index.js';
import { AnswerQueue, type Slot } from './answer-queue.js';
import { FixedAnswer, invalidMessageAnswer } from './answers.js';
import type { ArrpcConnectionInfo } from './arrpc.context.js';
import type { Dispatch, HandlerRun, MessageDispatcher } from './dispatch.js';
import { Fifo } from './fifo.js';
import { OneShotTimer } from './one-shot-timer.js';
import { closedReason } from './request-scope.js';

/**
 * Where a connection is in its life. Each state owns the timers that may run in it, and
 * entering a state clears every other one, so no timer outlives its state.
 * - `open`: reading and answering (timers: incomplete message, idle).
 * - `draining`: the server is closing; as `open`, but a connection that has carried envelopes
 *   ends as soon as nothing is in flight (same timers).
 * - `closing`: reading stopped (a breach, the peer's FIN, idle, the drain); the messages
 *   already complete are answered, then the server ends its side (no timer).
 * - `ended`: the server ended its side and waits for the peer to end its own (linger).
 * - `closed`: the socket is gone (no timer).
 */
type ConnectionState = 'open' | 'draining' | 'closing' | 'ended' | 'closed';

/** After the server ends its side, a peer that never closes its own is dropped this much later. */
const LINGER_MS = 5000;

/**
 * Handlers one connection starts before it lets the event loop serve other connections. Quick
 * handlers finish in microtasks, so without a pause one read of 65,536 one-byte requests held
 * every other connection for over a second.
 */
const STARTS_PER_TURN = 256;

/**
 * Serves one socket: decodes messages as bytes arrive, runs up to
 * `maxConcurrentPerConnection` handlers at once, and hands their answers to
 * its {@link AnswerQueue}, which writes them in the order the messages came.
 * It stops reading while that many answers are pending or the socket's write
 * buffer is full, and starts no handler while the write buffer is full, so a
 * peer that never reads its answers costs bounded memory: the messages of one
 * read, `maxConcurrentPerConnection` answers, and the socket's buffer.
 */
export class ConnectionHandler implements ArrpcConnectionInfo {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** This server's end of the connection, for the handlers' spans. */
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** `host:port`, for logs. */
  readonly peer: string;
  private state: ConnectionState = 'open';
  /** Why reading stopped, once it has. */
  private closeReason: string | undefined;
  /** True once an envelope came: the peer is this project's client, which can move to another server. */
  private carriedEnvelopes = false;
  private readonly decoder: MessageDecoder;
  private readonly answers: AnswerQueue;
  private readonly waiting = new Fifo<Slot>();
  private readonly running = new Set<HandlerRun>();
  private paused = false;
  /** Handlers started since this connection last yielded to the event loop. */
  private startedThisTurn = 0;
  private yielding = false;
  /** Runs while a message has started and not finished arriving (`open`, `draining`). */
  private readonly incompleteTimer = new OneShotTimer();
  /** Runs while there is nothing to read, run or write (`open`, `draining`). */
  private readonly idleTimer = new OneShotTimer();
  /** Runs after the server ended its side, until the peer ends its own (`ended`). */
  private readonly lingerTimer = new OneShotTimer();

  constructor(
    private readonly socket: Socket,
    readonly tls: boolean,
    private readonly dispatcher: MessageDispatcher,
    private readonly options: ResolvedServerOptions,
    private readonly logger: Logger,
    private readonly onFinished: (connection: ConnectionHandler) => void,
    /**
     * The server's encoder, shared by its connections: its scratch buffer grows to the largest
     * answer and stays, so one per connection held that much memory per idle connection.
     * `encode` is synchronous and returns a copy, and no answer is encoded inside another.
     */
    encoder: MessageEncoder,
    /** The server's `maxBufferedBytes`, shared by its connections' decoders. */
    buffered: SharedBudget | undefined,
    /** This connection's metrics; undefined when metrics are off, and then nothing is timed. */
    metrics?: ServerConnectionMetrics,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    this.peer = `${this.remoteAddress}:${this.remotePort}`;
    this.decoder = new MessageDecoder({ maxMessageBytes: options.maxMessageBytes, maxDepth: options.maxDepth, shared: buffered });
    const debug = options.debug ? (message: string) => this.debug(message) : undefined;
    this.answers = new AnswerQueue(socket, encoder, logger, this.peer, debug, metrics);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.closeAfterAnswers('the peer ended the connection'));
    socket.on('drain', () => {
      this.startWaiting();
      this.updateFlow();
    });
    socket.on('error', (error) => this.debug(`socket error: ${error.message}`));
    socket.on('close', () => this.onClose());
    this.debug('connected');
    this.armIdle();
  }

  /**
   * The server began draining (PROTOCOL.md "Closing a server"): a connection of this project's
   * client ends once nothing is in flight, at once when idle; a plain peer's stays served.
   */
  drain(): void {
    if (this.state !== 'open') return;
    this.enter('draining');
    this.endIfDrained();
  }

  /** Drain deadline: aborts running handlers, logs them, and drops the socket. */
  terminate(): void {
    for (const run of this.running) {
      this.logger.warn(`handler for "${run.label}" from ${this.peer} still running at the drain deadline: aborted`);
      run.scope.abort(closedReason('the server closed at its drain deadline'));
    }
    this.socket.destroy();
  }

  /** Logs through Nest's Logger when `debug` is on. */
  debug(message: string): void {
    if (this.options.debug) this.logger.debug(`${this.peer} ${message}`);
  }

  /** Messages are read and served in these states. */
  private get reading(): boolean {
    return this.state === 'open' || this.state === 'draining';
  }

  /** Nothing in flight: no answer owed, no handler running or waiting, no message half read. */
  private get idle(): boolean {
    return this.answers.length === 0 && this.running.size === 0 && this.waiting.length === 0 && !this.decoder.hasPartialMessage;
  }

  /** Moves to `state`, clearing the timers that do not run in it. */
  private enter(state: ConnectionState): void {
    this.state = state;
    if (!this.reading) {
      this.incompleteTimer.clear();
      this.idleTimer.clear();
    }
    if (state !== 'ended') this.lingerTimer.clear();
  }

  private onData(chunk: Buffer): void {
    // After a breach the rest of the stream is out of step: read it only to see the peer's FIN.
    if (!this.reading) return;
    this.idleTimer.clear();
    try {
      this.decoder.write(chunk, this.onMessage);
    } catch (error) {
      this.closeAfterAnswers(`protocol breach: ${(error as Error).message}`);
    }
    this.startWaiting();
    this.flush();
    this.armIncomplete();
  }

  private readonly onMessage: MessageHandler = (value, byteLength, refusal) => {
    // This message is done; one that starts later in the same read gets its own time (armIncomplete).
    this.incompleteTimer.clear();
    const slot = this.answers.open(byteLength);
    const dispatch = refusal ? { answer: invalidMessageAnswer(refusal.message), failed: true } : this.dispatch(value, byteLength, slot);
    if (slot.envelope) this.carriedEnvelopes = true;
    if (dispatch.run === undefined) return this.answers.fill(slot, dispatch.answer, dispatch.failed === true);
    slot.run = dispatch.run;
    this.waiting.push(slot);
  };

  /**
   * Asks the router what a message gets. A throw there is a bug of the server's, not the peer's:
   * the message still gets an answer in its slot, or its connection would wait for it forever.
   */
  private dispatch(value: unknown, byteLength: number, slot: Slot): Dispatch {
    try {
      return this.dispatcher.dispatch(value, byteLength, this, slot);
    } catch (error) {
      this.logger.error(`deciding what a message from ${this.peer} gets failed: ${(error as Error)?.message}`, (error as Error)?.stack);
      return { answer: FixedAnswer.internal, failed: true };
    }
  }

  /** Starts waiting handlers while there is room, and none while the peer leaves its answers unread. */
  private startWaiting(): void {
    const max = this.options.maxConcurrentPerConnection;
    while (this.waiting.length > 0 && this.running.size < max && !this.socket.writableNeedDrain) {
      if (this.startedThisTurn >= STARTS_PER_TURN) return this.yieldTurn();
      this.startedThisTurn++;
      this.start(this.waiting.shift()!);
    }
  }

  /** Starts the rest after other connections' I/O has had its turn. */
  private yieldTurn(): void {
    if (this.yielding) return;
    this.yielding = true;
    setImmediate(() => {
      this.yielding = false;
      this.startedThisTurn = 0;
      if (this.state !== 'closed') this.startWaiting();
    });
  }

  private start(slot: Slot): void {
    const run = slot.run!;
    let replied = false;
    let finished = false;
    const reply = (answer: unknown, failed: boolean): void => {
      if (replied) return;
      replied = true;
      this.answers.fill(slot, answer, failed);
      this.flush();
    };
    const done = (): void => {
      if (finished) return;
      finished = true;
      reply(FixedAnswer.internal, true); // only if the run finished without replying
      run.scope.end();
      this.running.delete(run);
      this.startWaiting();
      this.flush();
      this.checkFinished();
    };
    this.running.add(run);
    try {
      run.start(reply, done);
    } catch (error) {
      this.logger.error(`handler for "${run.label}" failed`, (error as Error)?.stack);
      done();
    }
  }

  /** Writes the answers that are ready, then reads on, or finishes what the state asks once all are out. */
  private flush(): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.answers.flush();
    this.updateFlow();
    if (this.answers.length === 0) this.whenAnswered();
  }

  /** Pauses reading while answers back up (unwritten or unread by the peer), resumes after. */
  private updateFlow(): void {
    if (!this.reading) return;
    const busy = this.socket.writableNeedDrain || this.answers.length >= this.options.maxConcurrentPerConnection;
    if (busy === this.paused) return;
    this.paused = busy;
    if (busy) {
      this.socket.pause();
      // A message stalled by our pause is not the peer's slowness.
      this.incompleteTimer.clear();
    } else {
      this.socket.resume();
      this.armIncomplete();
    }
  }

  /** Every answer is written: end a closing connection, or a drained one, or start counting idle time. */
  private whenAnswered(): void {
    if (this.state === 'closing') return this.endSocket();
    if (!this.endIfDrained()) this.armIdle();
  }

  /**
   * While draining, ends the connection of a peer that has carried envelopes once nothing is in
   * flight: this project's client moves to another server then. A plain (Python) peer reuses
   * its socket and cannot move on, so it is served until it closes or the drain deadline.
   *
   * The server first writes its drain notice, an `UnavailableException` answer to no request,
   * and reads nothing after it. The client takes it as the sign to move on; a request the client
   * wrote meanwhile receives the notice as its own answer and, never read, is sent elsewhere.
   */
  private endIfDrained(): boolean {
    if (this.state !== 'draining' || !this.carriedEnvelopes || !this.idle) return false;
    const notice = this.answers.open(0);
    notice.counted = false;
    this.answers.fill(notice, FixedAnswer.draining, true);
    this.answers.flush();
    this.closeAfterAnswers('the server is draining');
    return true;
  }

  /** Stops taking messages; the ones already complete are still answered, then the server ends its side. */
  private closeAfterAnswers(reason: string): void {
    if (!this.reading) return;
    this.closeReason = reason;
    // Nothing more is read: a partial message gives back what it holds of the shared budget.
    this.decoder.reset();
    this.enter('closing');
    // Read on, only to see the peer's FIN.
    if (this.paused) this.socket.resume();
    if (this.answers.length === 0) this.endSocket();
  }

  private endSocket(): void {
    this.debug(`closing: ${this.closeReason}`);
    this.enter('ended');
    this.socket.end();
    this.lingerTimer.arm(LINGER_MS, () => this.socket.destroy(), true);
  }

  private onClose(): void {
    this.enter('closed');
    this.decoder.reset();
    for (const run of this.running) run.scope.abort(closedReason('the connection closed'));
    // Nobody is left to read these answers: waiting handlers never start.
    this.waiting.clear();
    this.answers.clear();
    this.debug(`closed${this.closeReason === undefined ? '' : ` (${this.closeReason})`}`);
    this.checkFinished();
  }

  private checkFinished(): void {
    if (this.state === 'closed' && this.running.size === 0) this.onFinished(this);
  }

  private armIncomplete(): void {
    const limit = this.options.incompleteMessageTimeoutMs;
    if (!this.decoder.hasPartialMessage) return this.incompleteTimer.clear();
    if (limit === 0 || this.paused || !this.reading) return;
    this.incompleteTimer.arm(limit, () => this.closeAfterAnswers(`message incomplete after ${limit} ms`));
  }

  private armIdle(): void {
    const limit = this.options.idleTimeoutMs;
    if (limit === 0 || !this.reading || !this.idle) return;
    this.idleTimer.arm(limit, () => this.closeAfterAnswers(`idle for ${limit} ms`));
  }
}
