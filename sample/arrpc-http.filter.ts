import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ArrpcErrorCode, ArrpcException } from '../lib/index.js';

/** What Express and Fastify replies both have. */
interface Reply {
  status(code: number): { json(body: unknown): unknown };
}

/** The HTTP status for each way an upstream call can fail. */
const STATUS: Readonly<Record<ArrpcErrorCode, number>> = {
  [ArrpcErrorCode.Remote]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Auth]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.InvalidResponse]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.ConnectionLost]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Unsendable]: HttpStatus.BAD_GATEWAY,
  [ArrpcErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
  [ArrpcErrorCode.Connect]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.Cancelled]: HttpStatus.SERVICE_UNAVAILABLE,
  [ArrpcErrorCode.ClientClosed]: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * Turns a failed arrpc call into an HTTP answer: `{ statusCode, error, code, message }`,
 * where `error` is the class (`RpcTimeoutException`...) and `code` its stable code.
 * Without it, Nest would answer every such error with a bare 500.
 */
@Catch(ArrpcException)
export class ArrpcHttpFilter implements ExceptionFilter<ArrpcException> {
  catch(error: ArrpcException, host: ArgumentsHost): void {
    const statusCode = STATUS[error.code] ?? HttpStatus.BAD_GATEWAY;
    host.switchToHttp().getResponse<Reply>().status(statusCode).json({
      statusCode,
      error: error.name,
      code: error.code,
      message: error.message,
    });
  }
}
