// The `nestjs-arrpc/terminus` entry: the health indicator, apart from the main entry so that
// `@nestjs/terminus` stays an optional peer dependency. Named exports only.
export { DEFAULT_HEALTH_CHECK_TIMEOUT_MS } from '../constants.js';
export {
  ArrpcHealthIndicator,
  type ArrpcEndpointHealth,
  type ArrpcEndpointHealthState,
  type ArrpcHealthDetails,
  type ArrpcPingCheckOptions,
} from './arrpc-health.indicator.js';
