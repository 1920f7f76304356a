// The server half: the Nest transport strategy, its context and status/event names.
export { ArrpcServer } from './arrpc-server.js';
export { ArrpcContext, type ArrpcConnectionInfo, type ArrpcContextArgs } from './arrpc.context.js';
export { ArrpcServerEvent, ArrpcServerStatus, type ArrpcServerEvents } from './server-events.js';
