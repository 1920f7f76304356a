// Public option interfaces and their resolvers.
export {
  resolveServerOptions,
  type ArrpcPatternResolver,
  type ArrpcResolvedPattern,
  type ArrpcServerOptions,
  type ResolvedServerOptions,
} from './server-options.js';
