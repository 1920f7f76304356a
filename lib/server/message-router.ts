import type { Logger } from '@nestjs/common';
import type { BaseRpcContext, MessageHandler, MsPattern, ReadPacket, WritePacket } from '@nestjs/microservices';
import { isObservable, type Observable, throwError } from 'rxjs';
import { ARRPC_DEFAULT_PATTERN, ARRPC_PING_ANSWER, ARRPC_PING_PATTERN, ARRPC_TIMEOUT_META_KEY } from '../constants.js';
import type { ResolvedServerOptions } from '../options/server-options.js';
import {
  MessageDecoder,
  NonceStore,
  SignatureKeys,
  readEnvelope,
  readGuard,
  verifySignedMessage,
  type Envelope,
  type VerifiedMessage,
} from '../protocol/index.js';
import { traceHandler } from '../tracing/index.js';
import { FixedAnswer, NO_EVENT_HANDLER_MESSAGE, errorAnswer, invalidMessageAnswer } from './answers.js';
import { ArrpcContext, type ArrpcContextArgs } from './arrpc.context.js';
import type { ConnectionHandler } from './connection-handler.js';
import type { Dispatch, HandlerRun, MessageDispatcher, RequestRecord } from './dispatch.js';
import { RequestScope } from './request-scope.js';

/** The parts of Nest's `Server` the router uses; `ArrpcServer` lends its own. */
export interface NestServerBridge {
  readonly handlers: ReadonlyMap<string, MessageHandler>;
  readonly isDraining: () => boolean;
  /** The metrics' `handler_func` of the handler registered for `route`. */
  handlerName(route: string): string;
  handleRequest(context: BaseRpcContext, produce: () => Promise<Observable<unknown>>, respond: (packet: WritePacket) => void): unknown;
  handleEvent(route: string, packet: ReadPacket, context: BaseRpcContext): Promise<unknown>;
  normalizePattern(pattern: MsPattern): string;
  patternAsString(pattern: unknown): string;
  toObservable(result: unknown): Observable<unknown>;
  /** True when a processing start or end hook was set (`@nestjs/observe`, say). */
  hasProcessingHooks(): boolean;
}

/** Replies, then ends the run; `failed` defaults to true, as most early answers are errors. */
type Finish = (answer: unknown, failed?: boolean) => void;

/**
 * Distinct unhandled event patterns warned about; past them no more are, so a peer sending
 * made-up patterns cannot grow the set (or the log) without bound.
 */
const MAX_WARNED_EVENT_PATTERNS = 100;

/** A whole `arrpc-timeout-ms`: decimal digits, at most 15 so the number stays exact. */
const TIMEOUT_MS_TEXT = /^\d{1,15}$/;

/** What {@link MessageRouter.openSigned} returns for a message it refused. */
const REFUSED: unique symbol = Symbol('refused');

/** Logs why a signed message was refused (debug only) and yields {@link REFUSED}. */
function refuse(connection: ConnectionHandler, byteLength: number, reason: string): typeof REFUSED {
  connection.debug(`refused (${byteLength} bytes): ${reason}`);
  return REFUSED;
}

/** The answers given without a handler, built once. */
const Answered = {
  auth: { answer: FixedAnswer.auth, failed: true },
  noHandler: { answer: FixedAnswer.noHandler, failed: true },
  internal: { answer: FixedAnswer.internal, failed: true },
  draining: { answer: FixedAnswer.draining, failed: true },
  ping: { answer: ARRPC_PING_ANSWER },
  eventAck: { answer: null },
} as const satisfies Record<string, Dispatch>;

/**
 * Decides what each message gets (PROTOCOL.md part 2): the signature is
 * checked first, then the envelope read; plain messages go to the default
 * pattern (or `resolvePattern`'s), envelopes to their pattern's handler,
 * `arrpc.ping` to the server itself. While draining, envelopes are refused
 * with `UnavailableException` and plain messages are still served.
 */
export class MessageRouter implements MessageDispatcher {
  /** Decodes the signed `data`, under the same limits as the message around it. */
  private readonly signedDecoder: MessageDecoder;
  /** `authSecret`'s secrets, made ready once for every message. */
  private readonly signingKeys: SignatureKeys | undefined;
  /** The nonces of the replay window; `undefined` when the guard is off. */
  private readonly nonces: NonceStore | undefined;
  /** Event patterns with no handler already warned about (at most {@link MAX_WARNED_EVENT_PATTERNS}). */
  private readonly warnedEventPatterns = new Set<string>();
  private readonly logUnexpected = (error: unknown): void => {
    this.logger.error(`answered Internal server error for: ${String((error as Error)?.message ?? error)}`, (error as Error)?.stack);
  };

  constructor(
    private readonly nest: NestServerBridge,
    private readonly options: ResolvedServerOptions,
    private readonly logger: Logger,
  ) {
    this.signedDecoder = new MessageDecoder({ maxMessageBytes: options.maxMessageBytes, maxDepth: options.maxDepth });
    this.signingKeys = options.authSecrets === undefined ? undefined : new SignatureKeys(options.authSecrets);
    this.nonces = options.replayWindowMs === 0 ? undefined : new NonceStore(options.replayWindowMs, options.replayMaxNonces);
  }

  dispatch(message: unknown, byteLength: number, connection: ConnectionHandler, record: RequestRecord): Dispatch {
    let value = message;
    const signed = this.signingKeys !== undefined;
    if (signed) {
      value = this.openSigned(message, byteLength, connection, record);
      if (value === REFUSED) return Answered.auth;
    }
    let envelope: Envelope | undefined;
    try {
      envelope = readEnvelope(value);
    } catch (error) {
      connection.debug(`refused (${byteLength} bytes): ${(error as Error).message}`);
      return { answer: invalidMessageAnswer((error as Error).message), failed: true };
    }
    if (envelope === undefined) return this.plain(value, byteLength, connection, signed, record);
    record.envelope = true;
    const pattern = this.nest.patternAsString(envelope.pattern);
    record.pattern = pattern;
    if (this.options.debug) connection.debug(`${envelope.kind} "${pattern}" (${byteLength} bytes)`);
    if (envelope.metaIgnored) connection.debug('meta is not a map of str to str: ignored');
    if (this.nest.isDraining()) return Answered.draining;
    if (envelope.kind === 'event') return this.event(envelope, pattern, connection, signed, record);
    if (envelope.pattern === ARRPC_PING_PATTERN) {
      record.counted = false;
      return Answered.ping;
    }
    const route = this.nest.normalizePattern(envelope.pattern as MsPattern);
    const handler = this.nest.handlers.get(route);
    if (handler === undefined) return this.noHandler(pattern, connection);
    record.handlerFunc = this.nest.handlerName(route);
    const scope = new RequestScope(this.deadline(envelope.meta, connection));
    return this.request(handler, envelope.data, [pattern, envelope.meta, connection, signed], scope, record, route);
  }

  /**
   * The signed value, checked against every secret and, with the replay guard on, against the
   * window and the nonces seen; {@link REFUSED} (logged) when it fails. A guard is taken off
   * whether the replay guard is on or not: clients write it whatever the server does with it.
   */
  private openSigned(message: unknown, byteLength: number, connection: ConnectionHandler, record: RequestRecord): unknown {
    let verified: VerifiedMessage;
    try {
      verified = verifySignedMessage(message, this.signingKeys!, this.signedDecoder);
    } catch (error) {
      return refuse(connection, byteLength, (error as Error).message);
    }
    const guard = readGuard(verified.value);
    if (typeof guard === 'string') return refuse(connection, byteLength, guard);
    if (this.nonces !== undefined) {
      if (guard === undefined && !this.options.replayAllowUnguarded) {
        return refuse(connection, byteLength, 'no replay guard (replayAllowUnguarded is off)');
      }
      const refusal = guard === undefined ? undefined : this.nonces.admit(guard.time, guard.nonce, Date.now());
      if (refusal !== undefined) return refuse(connection, byteLength, `replay guard: ${refusal}`);
    }
    record.secretIndex = verified.secretIndex;
    return guard === undefined ? verified.value : guard.data;
  }

  private plain(message: unknown, byteLength: number, connection: ConnectionHandler, signed: boolean, record: RequestRecord): Dispatch {
    let route = ARRPC_DEFAULT_PATTERN;
    let pattern = ARRPC_DEFAULT_PATTERN;
    let data = message;
    const resolver = this.options.resolvePattern;
    if (resolver !== undefined) {
      try {
        const resolved = resolver(message);
        if (resolved !== undefined) {
          route = this.nest.normalizePattern(resolved.pattern as MsPattern);
          pattern = this.nest.patternAsString(resolved.pattern);
          data = resolved.data;
        }
      } catch (error) {
        this.logUnexpected(error);
        return Answered.internal;
      }
    }
    record.pattern = pattern;
    if (this.options.debug) connection.debug(`plain message for "${pattern}" (${byteLength} bytes)`);
    const handler = this.nest.handlers.get(route);
    if (handler === undefined) return this.noHandler(pattern, connection);
    record.handlerFunc = this.nest.handlerName(route);
    return this.request(handler, data, [pattern, undefined, connection, signed], new RequestScope(undefined), record, route);
  }

  private noHandler(pattern: string, connection: ConnectionHandler): Dispatch {
    if (this.options.debug) connection.debug(`no handler for "${pattern}"`);
    return Answered.noHandler;
  }

  /** `route` is the handler's key (Nest's normalised pattern), which names the handler's span. */
  private request(handler: MessageHandler, data: unknown, args: ArrpcContextArgs, scope: RequestScope, record: RequestRecord, route: string): Dispatch {
    const context = new ArrpcContext(args, scope);
    const start: HandlerRun['start'] = (reply, done) => {
      const finish: Finish = (answer, failed = true) => {
        reply(answer, failed);
        done();
      };
      this.runRequest(handler, data, context, scope, record, finish);
    };
    return { run: { scope, label: args[0], start: traceHandler(start, route, args[1], args[2]) } };
  }

  /** Runs a request: through Nest's `handleRequest` when processing hooks are set, so they see it; else directly. */
  private runRequest(handler: MessageHandler, data: unknown, context: ArrpcContext, scope: RequestScope, record: RequestRecord, finish: Finish): void {
    // The deadline is checked when the handler would start, after any wait for room.
    if (scope.expired) {
      record.handlerFunc = ''; // refused: no handler ran
      return finish(FixedAnswer.deadline);
    }
    if (!this.nest.hasProcessingHooks()) return this.runDirect(handler, data, context, finish);
    let last: unknown = null;
    const respond = (packet: WritePacket): void => {
      if ('err' in packet) return finish(errorAnswer(packet.err, this.logUnexpected));
      if ('response' in packet) last = packet.response;
      if (packet.isDisposed) finish(last, false);
    };
    const produce = async (): Promise<Observable<unknown>> => {
      try {
        return this.nest.toObservable(await handler(data, context));
      } catch (error) {
        return throwError(() => error);
      }
    };
    try {
      // A start hook may return its promise; one that rejects must answer, not go unhandled.
      const started = this.nest.handleRequest(context, produce, respond);
      if (started instanceof Promise) started.catch((error: unknown) => finish(errorAnswer(error, this.logUnexpected)));
    } catch (error) {
      finish(errorAnswer(error, this.logUnexpected));
    }
  }

  /**
   * With no processing hook set, `handleRequest` adds nothing but its
   * Observable plumbing (operators, a subscription, a tick per answer), so the
   * handler is called and its result read here, to the same answers: its
   * last value, nil when empty, the exception filter's error as an error.
   * Promises are followed with `then`, not `await`: one tick per request fewer.
   */
  private runDirect(handler: MessageHandler, data: unknown, context: ArrpcContext, finish: Finish): void {
    const fail = (error: unknown): void => finish(errorAnswer(error, this.logUnexpected));
    let result: unknown;
    try {
      result = handler(data, context);
    } catch (error) {
      return fail(error);
    }
    // Promise.resolve returns a native promise as it is, and unwraps any other thenable as await would.
    if (isThenable(result)) Promise.resolve(result).then((value) => this.answerWith(value, finish, fail), fail);
    else this.answerWith(result, finish, fail);
  }

  /** Answers with a handler's value, or with the last value of its Observable (nil when empty). */
  private answerWith(result: unknown, finish: Finish, fail: (error: unknown) => void): void {
    if (!isObservable(result)) return finish(result, false);
    let last: unknown = null;
    result.subscribe({
      next: (value) => {
        last = value;
      },
      error: fail,
      complete: () => finish(last, false),
    });
  }

  /** An event is acknowledged with nil when its handler starts; the run lasts as long as the handler. */
  private event(envelope: Envelope, pattern: string, connection: ConnectionHandler, signed: boolean, record: RequestRecord): Dispatch {
    const route = this.nest.normalizePattern(envelope.pattern as MsPattern);
    const handler = this.nest.handlers.get(route);
    if (handler === undefined) {
      this.warnUnhandledEvent(pattern);
      connection.debug(`no handler for event "${pattern}": acknowledged`);
      return Answered.eventAck;
    }
    record.handlerFunc = this.nest.handlerName(route);
    const scope = new RequestScope(undefined);
    const context = new ArrpcContext([pattern, envelope.meta, connection, signed], scope);
    // No `metadata` key without meta, and no temporary object spread to leave it out.
    const packet: ReadPacket =
      envelope.meta === undefined
        ? { pattern: envelope.pattern, data: envelope.data }
        : { pattern: envelope.pattern, data: envelope.data, metadata: envelope.meta };
    // Nothing here may reject: nobody waits on this promise.
    const start: HandlerRun['start'] = async (reply, done) => {
      try {
        reply(null, false);
        await this.nest.handleEvent(route, packet, context);
      } catch (error) {
        this.logUnexpected(error);
      } finally {
        done();
      }
    };
    return { run: { scope, label: pattern, start: traceHandler(start, route, envelope.meta, connection) } };
  }

  /**
   * Warns once per pattern, in Nest's words, that an event went to no handler: the peer got its
   * nil acknowledgement and cannot tell, so the log is the only place the mistake shows.
   */
  private warnUnhandledEvent(pattern: string): void {
    const warned = this.warnedEventPatterns;
    if (warned.size > MAX_WARNED_EVENT_PATTERNS || warned.has(pattern)) return;
    warned.add(pattern);
    if (warned.size > MAX_WARNED_EVENT_PATTERNS) {
      this.logger.warn(`events for more than ${MAX_WARNED_EVENT_PATTERNS} patterns had no handler; further ones are not logged`);
      return;
    }
    this.logger.warn(`${NO_EVENT_HANDLER_MESSAGE} Event pattern: ${pattern}`);
  }

  /** The deadline from a request's `arrpc-timeout-ms`; an invalid value is ignored. */
  private deadline(meta: Readonly<Record<string, string>> | undefined, connection: ConnectionHandler): number | undefined {
    const text = meta?.[ARRPC_TIMEOUT_META_KEY];
    if (text === undefined) return undefined;
    if (!TIMEOUT_MS_TEXT.test(text)) {
      connection.debug(`${ARRPC_TIMEOUT_META_KEY} "${text.slice(0, 20)}" is not whole milliseconds: ignored`);
      return undefined;
    }
    return Date.now() + Number(text);
  }
}

/** What `await` would wait for: a promise, or any object with a `then` method. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
