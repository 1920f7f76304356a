// What client calls end with: Nest RpcExceptions with stable codes.
export {
  ArrpcErrorCode,
  ArrpcException,
  AuthException,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  QueueFullException,
  RemoteRpcException,
  RpcTimeoutException,
  UnavailableException,
  UnsendableRequestException,
  createRemoteException,
  type ArrpcConnectAttempt,
  type ArrpcErrorContext,
} from './arrpc-exceptions.js';
