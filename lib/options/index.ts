// Public option interfaces and their resolvers.
export {
  resolveClientOptions,
  type ArrpcBalance,
  type ArrpcClientOptions,
  type ArrpcEndpointAddress,
  type ArrpcLookup,
  type ArrpcPeer,
  type ArrpcProbe,
  type ArrpcResolve,
  type ArrpcRetryBudget,
  type ResolvedClientOptions,
} from './client-options.js';
export { type ArrpcMetricsHistogramOptions } from './histogram-options.js';
export {
  resolveServerOptions,
  type ArrpcPatternResolver,
  type ArrpcResolvedPattern,
  type ArrpcServerOptions,
  type ResolvedServerOptions,
} from './server-options.js';
