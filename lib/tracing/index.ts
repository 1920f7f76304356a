// OpenTelemetry, when `@opentelemetry/api` is installed and a tracer provider registered: a CLIENT
// span per call with its context in `meta`, a SERVER span around each handler. Loaded lazily:
// without the API nothing here loads it, and client and server skip all of it.
export { ClientCallSpan } from './client-span.js';
export { traceHandler, type ServedConnection } from './server-span.js';
