import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import type { ServerConnectionMetrics } from '../metrics/recorder.js';
import { type MessageEncoder, PYTHON_READ_BYTES, isPythonReadable, widenForPythonReader } from '../protocol/index.js';
import { FixedAnswer, errorReason } from './answers.js';
import type { HandlerRun, RequestRecord } from './dispatch.js';
import { Fifo } from './fifo.js';

/** One answer's place in the queue: filled when the answer is known. */
export interface Slot extends RequestRecord {
  bytes: Buffer | undefined;
  /** The handler to start, while the message waits for room or runs. */
  run: HandlerRun | undefined;
  /** The error answer, when the answer is one. */
  failure: string | undefined;
  /** The message's size as received, envelope and signature included. */
  readonly size: number;
  /** `performance.now()` when the whole message was read; 0 when metrics are off. */
  readonly receivedAt: number;
}

/**
 * A connection's answers, written in the order their messages came whatever
 * order they are known in (ws calls its counterpart the Sender): one slot per
 * message, filled with its encoded answer, and the filled slots at the head
 * written at once, corked into one write when there are several. The socket
 * and the queue's length tell the connection when to stop reading.
 */
export class AnswerQueue {
  private readonly slots = new Fifo<Slot>();
  /** An answer a Python peer cannot read whole was already logged on this connection. */
  private warnedUnreadable = false;

  constructor(
    private readonly socket: Socket,
    /** The server's shared encoder (see ConnectionHandler). */
    private readonly encoder: MessageEncoder,
    private readonly logger: Logger,
    /** `host:port` of the peer, for logs. */
    private readonly peer: string,
    /** Logs one line about the connection at debug level; undefined when `debug` is off. */
    private readonly debug: ((message: string) => void) | undefined,
    /** This connection's metrics; undefined when metrics are off, and then nothing is timed. */
    private readonly metrics: ServerConnectionMetrics | undefined,
  ) {}

  /** Answers owed: slots opened and not yet written. */
  get length(): number {
    return this.slots.length;
  }

  /** Opens the slot of a message just read, after those of the messages before it. */
  open(size: number): Slot {
    const slot: Slot = {
      bytes: undefined,
      run: undefined,
      failure: undefined,
      handlerFunc: '',
      pattern: '',
      secretIndex: -1,
      counted: true,
      envelope: false,
      size,
      receivedAt: this.metrics === undefined ? 0 : performance.now(),
    };
    this.slots.push(slot);
    return slot;
  }

  /**
   * Encodes an answer into its slot; the encoder is reused, the bytes are a copy. `failed`
   * marks an error answer (always a str this server wrote).
   */
  fill(slot: Slot, answer: unknown, failed: boolean): void {
    try {
      slot.bytes = widenForPythonReader(this.encoder.encode(answer));
      if (failed) slot.failure = answer as string;
      if (!slot.envelope && !isPythonReadable(slot.bytes)) this.warnUnreadable(slot.bytes.length);
    } catch (error) {
      this.logger.error(`an answer to ${this.peer} has no MessagePack form: ${(error as Error).message}`);
      slot.bytes = widenForPythonReader(this.encoder.encode(FixedAnswer.internal));
      slot.failure = FixedAnswer.internal;
    }
  }

  /**
   * A plain answer whose length is a multiple of 4096 and has no header left to widen (a bare
   * str, bin or ext of 64 KiB or more, say): a Python client never reads it whole and times
   * out. It is still written (the peer may not be Python); logged once per connection.
   */
  private warnUnreadable(length: number): void {
    if (this.warnedUnreadable) return;
    this.warnedUnreadable = true;
    this.logger.warn(
      `an answer to ${this.peer} is ${length} bytes, a multiple of ${PYTHON_READ_BYTES} with no header that can be widened: ` +
        'a Python client never reads it whole (make the answer a map or array, or change its size)',
    );
  }

  /** Writes every answer at the head that is ready, corked into one write when several are. */
  flush(): void {
    const slots = this.slots;
    const several = slots.length > 1 && slots.at(1)!.bytes !== undefined;
    if (several) this.socket.cork();
    let now = 0;
    while (slots.length > 0 && slots.at(0)!.bytes !== undefined) {
      const slot = slots.shift()!;
      this.socket.write(slot.bytes!);
      this.debug?.(`answered (${slot.bytes!.length} bytes)`);
      if (this.metrics !== undefined && slot.counted) this.record(this.metrics, slot, (now ||= performance.now()));
    }
    if (several) this.socket.uncork();
  }

  /** Drops every answer owed: nobody is left to read them. */
  clear(): void {
    this.slots.clear();
  }

  /** Records an answered message: its time from being read to its answer being written, and its failure. */
  private record(metrics: ServerConnectionMetrics, slot: Slot, now: number): void {
    const signed = slot.secretIndex >= 0;
    metrics.request(slot.handlerFunc, slot.pattern, signed, (now - slot.receivedAt) / 1000, slot.size);
    if (slot.failure !== undefined) metrics.error(slot.handlerFunc, signed, errorReason(slot.failure));
    if (signed) metrics.secret(slot.secretIndex);
  }
}
