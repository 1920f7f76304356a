// The client: ArrpcClient (Nest glue), its module, and the pool unwrap() returns.
export { ArrpcClient, type ArrpcCallOptions } from './arrpc-client.js';
export type { ArrpcClientEvents, ArrpcEndpointDownReason, ArrpcEndpointUpReason } from './arrpc-client.events.js';
export { ArrpcModule } from './arrpc.module.js';
export type { ArrpcModuleExtras } from './arrpc.module-definition.js';
export { ConnectionPool } from './connection-pool.js';
export type { ArrpcEndpointState, Endpoint } from './endpoint.js';
export type { Connection } from './connection.js';
