import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { ArrpcErrorCode, ArrpcException } from '../errors/index.js';

/** The part of a reply this filter uses: Express's `res.send` and Fastify's `reply.send` both write an object as JSON. */
interface Reply {
  status(code: number): { send(body: unknown): unknown };
}

/** What an HTTP caller gets for a failed arrpc call. */
export interface ArrpcHttpErrorBody {
  /** The HTTP status, as in the status line. */
  readonly statusCode: number;
  /** The error class: `RemoteRpcException`, `RpcTimeoutException`... */
  readonly error: string;
  /** Its stable code: `ARRPC_ERR_REMOTE`, `ARRPC_ERR_TIMEOUT`... */
  readonly code: ArrpcErrorCode;
  /** The remote handler's message for `RemoteRpcException`; otherwise a fixed sentence per code, naming no address. */
  readonly message: string;
}

/**
 * The HTTP status for each code. 502: the upstream answered, or the exchange broke, in a way
 * waiting does not fix. 503: there was no upstream to ask, or no client left to ask with (a
 * cancelled call is one this process gave up; a full queue, one it would not wait for).
 * 504: the upstream did not answer in time.
 */
const STATUS: Readonly<Record<ArrpcErrorCode, number>> = {
  [ArrpcErrorCode.Remote]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Auth]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.InvalidResponse]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.ConnectionLost]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Unsendable]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Connect]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.ClientClosed]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.Cancelled]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.QueueFull]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
};

/**
 * What the HTTP caller reads instead of the error's own message, which names the upstream's
 * address: the caller is outside. A remote handler's message is meant for its caller and passes.
 */
const PUBLIC_MESSAGE: Readonly<Record<Exclude<ArrpcErrorCode, typeof ArrpcErrorCode.Remote>, string>> = {
  [ArrpcErrorCode.Auth]: 'the upstream refused the message signature',
  [ArrpcErrorCode.InvalidResponse]: 'the upstream answered something unreadable',
  [ArrpcErrorCode.ConnectionLost]: 'the connection to the upstream broke; the request may have run',
  [ArrpcErrorCode.Unsendable]: 'the upstream could not read the request as it is',
  [ArrpcErrorCode.Connect]: 'no connection to the upstream',
  [ArrpcErrorCode.Unavailable]: 'the upstream is shutting down',
  [ArrpcErrorCode.ClientClosed]: 'the upstream client is closed',
  [ArrpcErrorCode.Cancelled]: 'the upstream call was cancelled',
  [ArrpcErrorCode.QueueFull]: 'too many calls are waiting for the upstream',
  [ArrpcErrorCode.Timeout]: 'the upstream did not answer in time',
};

/**
 * Turns a failed `ArrpcClient` call inside an HTTP route into a 502, 503 or 504 with an
 * {@link ArrpcHttpErrorBody}; without it Nest answers every such error with a bare 500.
 * Use it as any filter: `@UseFilters(ArrpcHttpExceptionFilter)` on a controller, or
 * `app.useGlobalFilters(new ArrpcHttpExceptionFilter())`. In an arrpc handler (a hybrid app's
 * global filter reaches those too) it changes nothing: the error is answered as without it.
 */
@Catch(ArrpcException)
export class ArrpcHttpExceptionFilter implements ExceptionFilter<ArrpcException> {
  private readonly rpc = new BaseRpcExceptionFilter();

  catch(error: ArrpcException, host: ArgumentsHost): Observable<unknown> | void {
    if (host.getType() === 'rpc') return this.rpc.catch(error, host);
    const body = httpErrorBody(error);
    host.switchToHttp().getResponse<Reply>().status(body.statusCode).send(body);
  }
}

/** The status and body {@link ArrpcHttpExceptionFilter} answers `error` with. */
export function httpErrorBody(error: ArrpcException): ArrpcHttpErrorBody {
  const message = error.code === ArrpcErrorCode.Remote ? error.message : PUBLIC_MESSAGE[error.code];
  return { statusCode: STATUS[error.code], error: error.name, code: error.code, message };
}
