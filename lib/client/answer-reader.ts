import {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  MessageDecoder,
  parseRemoteError,
  RemoteErrorKind,
  type DecoderLimits,
} from '../protocol/index.js';

/** One whole answer: its value, and why the protocol refuses it, when it does (still framed: the stream stays in step). */
export interface Answer {
  readonly value: unknown;
  readonly refusal: ArrpcProtocolError | undefined;
}

/** What one chunk held: the answers it completed, in order, and what put the stream out of step, if anything did. */
export interface ReadResult {
  readonly answers: readonly Answer[];
  /**
   * Bytes that are not MessagePack or over the limit (after `answers`), or bytes past the last
   * answer awaited (then `answers` is empty: none of the chunk can be trusted).
   */
  readonly error: Error | undefined;
  /**
   * The last value was a draining `ArrpcServer`'s notice: an `UnavailableException` answer to no
   * request, written just before it closes a connection that has carried envelopes (PROTOCOL.md
   * part 2, "Closing a server"). Not counted in `answers`.
   */
  readonly drainNotice: boolean;
}

/**
 * Reads a server's answers off one socket, for a connection, a probe or a health check alike.
 * Answers carry no request id: each one belongs to the oldest request unanswered, so bytes
 * beyond the answers awaited are not answers. They come from a server out of step, or from one
 * that does not speak arrpc at all: an HTTP server's `HTTP/1.1 400 ...` decodes as a run of
 * positive fixints, the first of which would otherwise pass for the answer (`72`, the `H`).
 */
export class AnswerReader {
  private readonly decoder: MessageDecoder;

  constructor(limits: DecoderLimits) {
    this.decoder = new MessageDecoder(limits);
  }

  /** Decodes `chunk` while `awaited` answers are outstanding (requests written, not yet answered). */
  read(chunk: Buffer, awaited: number): ReadResult {
    const answers: Answer[] = [];
    try {
      this.decoder.write(chunk, (value, _bytes, refusal) => answers.push({ value, refusal }));
    } catch (error) {
      return { answers, error: error as Error, drainNotice: false };
    }
    const drainNotice = answers.length === awaited + 1 && !this.decoder.hasPartialMessage && isDrainNotice(answers[awaited]!);
    if (drainNotice) answers.pop();
    // An answer still arriving is fine while a request waits for it, and nothing else is.
    if (answers.length > awaited || (answers.length === awaited && this.decoder.hasPartialMessage)) {
      return { answers: [], error: pastLastAnswer(awaited), drainNotice: false };
    }
    return { answers, error: undefined, drainNotice };
  }
}

function isDrainNotice(answer: Answer): boolean {
  return answer.refusal === undefined && parseRemoteError(answer.value)?.kind === RemoteErrorKind.Unavailable;
}

function pastLastAnswer(awaited: number): ArrpcProtocolError {
  const what =
    awaited === 0
      ? 'bytes with no request in flight'
      : awaited === 1
        ? 'bytes past the answer to the request in flight'
        : `bytes past the answers to the ${awaited} requests in flight`;
  return new ArrpcProtocolError(ArrpcProtocolErrorCode.ExtraBytes, `the server sent ${what} (is it an arrpc server?)`);
}
