// The contract between a connection (bytes, order, room) and the router (what each message gets).
import type { ConnectionHandler } from './connection-handler.js';
import type { RequestScope } from './request-scope.js';

/** A handler to start once the connection has room; it replies exactly once. */
export interface HandlerRun {
  readonly scope: RequestScope;
  /** The pattern, for logs. */
  readonly label: string;
  /** Starts the handler; settles when it has finished (an event's ack is replied before). */
  start(reply: (answer: unknown) => void): Promise<void>;
}

/** What a message gets: a handler run, or else `answer` at once (undefined answers nil). */
export interface Dispatch {
  readonly run?: HandlerRun;
  readonly answer?: unknown;
}

/** Decides, when a message arrives, what it gets. */
export interface MessageDispatcher {
  dispatch(message: unknown, byteLength: number, connection: ConnectionHandler): Dispatch;
}
