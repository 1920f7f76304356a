// The contract between a connection (bytes, order, room) and the router (what each message gets).
import type { ConnectionHandler } from './connection-handler.js';
import type { RequestScope } from './request-scope.js';

/**
 * What the metrics say about one message, filled in by the router as it decides: primitives
 * only, kept in the connection's per-message slot, so recording allocates nothing.
 */
export interface RequestRecord {
  /** The handler's method name; `''` while none runs (refused, no handler, `arrpc.ping`). */
  handlerFunc: string;
  /** The pattern as a string; `''` when none was read. */
  pattern: string;
  /**
   * When signed and verified, the position in `authSecret` of the secret it was signed with;
   * -1 otherwise (no `authSecret`, or refused): the metrics' `signed` label is `secretIndex >= 0`.
   */
  secretIndex: number;
  /** False for what is not counted (`arrpc.ping`). */
  counted: boolean;
  /** A Nest envelope (this project's client), not a plain message (a Python client). */
  envelope: boolean;
}

/** A handler to start once the connection has room; it replies exactly once. */
export interface HandlerRun {
  readonly scope: RequestScope;
  /** The pattern, for logs. */
  readonly label: string;
  /**
   * Starts the handler: `reply` is called once with the answer (`failed` marks an error answer,
   * an `arrpc.error.*` str this server wrote), `done` once the handler has finished, after
   * `reply` (an event's ack is replied at once, `done` when its handler settles).
   */
  start(reply: (answer: unknown, failed: boolean) => void, done: () => void): void;
}

/** What a message gets: a handler run, or else `answer` at once (undefined answers nil). */
export interface Dispatch {
  readonly run?: HandlerRun;
  readonly answer?: unknown;
  /** `answer` is an error answer. */
  readonly failed?: boolean;
}

/** Decides, when a message arrives, what it gets, and fills in `record` on the way. */
export interface MessageDispatcher {
  dispatch(message: unknown, byteLength: number, connection: ConnectionHandler, record: RequestRecord): Dispatch;
}
