import { BaseRpcContext } from '@nestjs/microservices';
import { RequestScope } from './request-scope.js';

/** The connection a message came on; one object per connection, shared by its messages. */
export interface ArrpcConnectionInfo {
  /** The peer's IP address; undefined once the socket is gone. */
  readonly remoteAddress: string | undefined;
  /** The peer's port. */
  readonly remotePort: number | undefined;
  /** True when the connection is TLS. */
  readonly tls: boolean;
}

/** `getArgs()` of an {@link ArrpcContext}: pattern, `meta`, connection, signed. */
export type ArrpcContextArgs = [
  pattern: string,
  metadata: Readonly<Record<string, string>> | undefined,
  connection: ArrpcConnectionInfo,
  signed: boolean,
];

/**
 * What an arrpc handler can learn about its message, through `@Ctx()`.
 *
 * ```ts
 * @MessagePattern('users.get')
 * get(@Payload() id: number, @Ctx() ctx: ArrpcContext) {
 *   return this.users.find(id, { signal: ctx.getAbortSignal() });
 * }
 * ```
 */
export class ArrpcContext extends BaseRpcContext<ArrpcContextArgs> {
  private readonly scope: RequestScope;

  /** @param scope The message's deadline and abort signal; none by default. */
  constructor(args: ArrpcContextArgs, scope?: RequestScope) {
    super(args);
    this.scope = scope ?? new RequestScope(undefined);
  }

  /**
   * The pattern as received: a str pattern as it is, an object pattern as
   * JSON text; `ARRPC_DEFAULT_PATTERN` for a plain message (or what
   * `resolvePattern` chose).
   */
  getPattern(): string {
    return this.args[0];
  }

  /**
   * The envelope's `meta` (Nest packet metadata, such as a trace id),
   * reserved `arrpc-` keys included. Undefined for plain messages and for a
   * `meta` that was not a map of str to str.
   */
  getMetadata(): Readonly<Record<string, string>> | undefined {
    return this.args[1];
  }

  /** The peer's IP address. */
  getRemoteAddress(): string | undefined {
    return this.args[2].remoteAddress;
  }

  /** The peer's port. */
  getRemotePort(): number | undefined {
    return this.args[2].remotePort;
  }

  /** True when the connection is TLS. */
  isTls(): boolean {
    return this.args[2].tls;
  }

  /** True when the message was signed and verified against the server's `authSecret`. */
  isSigned(): boolean {
    return this.args[3];
  }

  /**
   * When the caller stops waiting, in epoch milliseconds, from the
   * `arrpc-timeout-ms` the client put in a request's `meta`; undefined when it
   * gave none. Pass it on to downstream calls yourself: it does not travel on
   * its own.
   */
  getDeadline(): number | undefined {
    return this.scope.deadline;
  }

  /**
   * A signal that fires when the deadline passes, the connection closes, or
   * the server's drain deadline comes. Made on the first call only.
   */
  getAbortSignal(): AbortSignal {
    return this.scope.signal();
  }
}
