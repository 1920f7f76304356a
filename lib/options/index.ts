// Public option interfaces and their resolvers.
export {
  resolveClientOptions,
  type ArrpcClientOptions,
  type ArrpcPeer,
  type ResolvedClientOptions,
} from './client-options.js';
export {
  resolveServerOptions,
  type ArrpcPatternResolver,
  type ArrpcResolvedPattern,
  type ArrpcServerOptions,
  type ResolvedServerOptions,
} from './server-options.js';
