import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import type { ServerConnectionMetrics } from '../metrics/recorder.js';
import type { ResolvedServerOptions } from '../options/server-options.js';
import {
  MessageDecoder,
  type MessageEncoder,
  widenForPythonReader,
  type MessageHandler,
} from '../protocol/index.js';
import { FixedAnswer, errorReason, invalidMessageAnswer } from './answers.js';
import type { ArrpcConnectionInfo } from './arrpc.context.js';
import type { HandlerRun, MessageDispatcher, RequestRecord } from './dispatch.js';
import { Fifo } from './fifo.js';
import { OneShotTimer } from './one-shot-timer.js';
import { closedReason } from './request-scope.js';

/** One answer's place in the connection's FIFO: filled when the answer is known. */
interface Slot extends RequestRecord {
  bytes: Buffer | undefined;
  run: HandlerRun | undefined;
  /** The error answer, when the answer is one. */
  failure: string | undefined;
  /** The message's size as received, envelope and signature included. */
  readonly size: number;
  /** `performance.now()` when the whole message was read; 0 when metrics are off. */
  readonly receivedAt: number;
}

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
 * `maxConcurrentPerConnection` handlers at once, and writes the answers in
 * the order the messages came, whatever order the handlers finish in. It
 * stops reading while that many answers are pending or the socket's write
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
  private readonly decoder: MessageDecoder;
  private readonly slots = new Fifo<Slot>();
  private readonly waiting = new Fifo<Slot>();
  private readonly running = new Set<HandlerRun>();
  private paused = false;
  /** Handlers started since this connection last yielded to the event loop. */
  private startedThisTurn = 0;
  private yielding = false;
  private closeReason: string | undefined;
  private closed = false;
  /** Runs while a message has started and not finished arriving. */
  private readonly incompleteTimer = new OneShotTimer();
  /** Runs while there is nothing to read, run or write. */
  private readonly idleTimer = new OneShotTimer();
  /** Runs after the server ended its side, until the peer ends its own. */
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
    private readonly encoder: MessageEncoder,
    /** This connection's metrics; undefined when metrics are off, and then nothing is timed. */
    private readonly metrics?: ServerConnectionMetrics,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    this.peer = `${this.remoteAddress}:${this.remotePort}`;
    this.decoder = new MessageDecoder({ maxMessageBytes: options.maxMessageBytes, maxDepth: options.maxDepth });
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

  private onData(chunk: Buffer): void {
    // After a breach the rest of the stream is out of step: read it only to see the peer's FIN.
    if (this.closeReason !== undefined) return;
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
    const slot: Slot = {
      bytes: undefined,
      run: undefined,
      failure: undefined,
      handlerFunc: '',
      pattern: '',
      signed: false,
      counted: true,
      size: byteLength,
      receivedAt: this.metrics === undefined ? 0 : performance.now(),
    };
    this.slots.push(slot);
    const dispatch = refusal
      ? { answer: invalidMessageAnswer(refusal.message), failed: true }
      : this.dispatcher.dispatch(value, byteLength, this, slot);
    if (dispatch.run === undefined) return this.fill(slot, dispatch.answer, dispatch.failed === true);
    slot.run = dispatch.run;
    this.waiting.push(slot);
  };

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
      if (!this.closed) this.startWaiting();
    });
  }

  private start(slot: Slot): void {
    const run = slot.run!;
    let replied = false;
    let finished = false;
    const reply = (answer: unknown, failed: boolean): void => {
      if (replied) return;
      replied = true;
      this.fill(slot, answer, failed);
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

  /**
   * Encodes an answer into its slot; the encoder is reused, the bytes are a copy. `failed`
   * marks an error answer (always a str this server wrote).
   */
  private fill(slot: Slot, answer: unknown, failed: boolean): void {
    try {
      slot.bytes = widenForPythonReader(this.encoder.encode(answer));
      if (failed) slot.failure = answer as string;
    } catch (error) {
      this.logger.error(`an answer to ${this.peer} has no MessagePack form: ${(error as Error).message}`);
      slot.bytes = widenForPythonReader(this.encoder.encode(FixedAnswer.internal));
      slot.failure = FixedAnswer.internal;
    }
  }

  /** Writes every answer at the head of the FIFO that is ready, corked into one write when several are. */
  private flush(): void {
    if (this.closed || this.socket.destroyed) return;
    const slots = this.slots;
    const several = slots.length > 1 && slots.at(1)!.bytes !== undefined;
    if (several) this.socket.cork();
    let now = 0;
    while (slots.length > 0 && slots.at(0)!.bytes !== undefined) {
      const slot = slots.shift()!;
      this.socket.write(slot.bytes!);
      if (this.options.debug) this.debug(`answered (${slot.bytes!.length} bytes)`);
      if (this.metrics !== undefined && slot.counted) this.record(this.metrics, slot, (now ||= performance.now()));
    }
    if (several) this.socket.uncork();
    this.updateFlow();
    if (slots.length === 0) this.whenAnswered();
  }

  /** Records an answered message: its time from being read to its answer being written, and its failure. */
  private record(metrics: ServerConnectionMetrics, slot: Slot, now: number): void {
    metrics.request(slot.handlerFunc, slot.pattern, slot.signed, (now - slot.receivedAt) / 1000, slot.size);
    if (slot.failure !== undefined) metrics.error(slot.handlerFunc, slot.signed, errorReason(slot.failure));
  }

  /** Pauses reading while answers back up (unwritten or unread by the peer), resumes after. */
  private updateFlow(): void {
    if (this.closeReason !== undefined || this.closed) return;
    const busy = this.socket.writableNeedDrain || this.slots.length >= this.options.maxConcurrentPerConnection;
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

  /** Every answer is written: finish a pending close, or start counting idle time. */
  private whenAnswered(): void {
    if (this.closeReason !== undefined) {
      if (!this.socket.writableEnded) this.endSocket();
    } else {
      this.armIdle();
    }
  }

  /** Stops taking messages; the ones already complete are still answered, then the server ends its side. */
  private closeAfterAnswers(reason: string): void {
    if (this.closeReason !== undefined || this.closed) return;
    this.closeReason = reason;
    this.incompleteTimer.clear();
    this.idleTimer.clear();
    if (this.paused) this.socket.resume();
    if (this.slots.length === 0) this.endSocket();
  }

  private endSocket(): void {
    this.debug(`closing: ${this.closeReason}`);
    this.socket.end();
    this.lingerTimer.arm(LINGER_MS, () => this.socket.destroy(), true);
  }

  private onClose(): void {
    this.closed = true;
    this.incompleteTimer.clear();
    this.idleTimer.clear();
    this.lingerTimer.clear();
    for (const run of this.running) run.scope.abort(closedReason('the connection closed'));
    // Nobody is left to read these answers: waiting handlers never start.
    this.waiting.clear();
    this.slots.clear();
    this.debug(`closed${this.closeReason === undefined ? '' : ` (${this.closeReason})`}`);
    this.checkFinished();
  }

  private checkFinished(): void {
    if (this.closed && this.running.size === 0) this.onFinished(this);
  }

  private armIncomplete(): void {
    const limit = this.options.incompleteMessageTimeoutMs;
    if (!this.decoder.hasPartialMessage) return this.incompleteTimer.clear();
    if (limit === 0 || this.paused || this.closeReason !== undefined) return;
    this.incompleteTimer.arm(limit, () => {
      this.decoder.reset();
      this.closeAfterAnswers(`message incomplete after ${limit} ms`);
    });
  }

  private armIdle(): void {
    const limit = this.options.idleTimeoutMs;
    if (limit === 0 || this.slots.length > 0 || this.running.size > 0 || this.decoder.hasPartialMessage) return;
    this.idleTimer.arm(limit, () => this.closeAfterAnswers(`idle for ${limit} ms`));
  }
}
