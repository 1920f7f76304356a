import type { Tracer } from '@opentelemetry/api';
import { createRemoteException } from '../errors/index.js';
import { parseRemoteError } from '../protocol/index.js';
import type { HandlerRun } from '../server/dispatch.js';
import { activeTracer, otelApi } from './otel-api.js';
import {
  ATTR_PEER_ADDRESS,
  ATTR_PEER_PORT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  recordFailure,
  rpcAttributes,
  type SpanFailure,
} from './span-attributes.js';

type StartHandler = HandlerRun['start'];
type Reply = Parameters<StartHandler>[0];

/** The two ends of the connection a message came on (the server's own end when known). */
export interface ServedConnection {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/**
 * `start`, run inside a SERVER span when a tracer provider is registered; `start` itself
 * otherwise. The span's parent is the context the client's propagator put in `meta` (none for
 * plain messages: a new trace); it lasts from the handler's start to its end, and is made
 * current for the handler, so the calls the handler makes are its children. `pattern` is the
 * handler's key (Nest's normalised pattern): the name a client's span has too.
 */
export function traceHandler(
  start: StartHandler,
  pattern: string,
  meta: Readonly<Record<string, string>> | undefined,
  connection: ServedConnection,
): StartHandler {
  const tracer = activeTracer();
  if (tracer === undefined) return start;
  return (reply, done) => runInSpan(tracer, start, pattern, meta, connection, reply, done);
}

function runInSpan(
  tracer: Tracer,
  start: StartHandler,
  pattern: string,
  meta: Readonly<Record<string, string>> | undefined,
  connection: ServedConnection,
  reply: Reply,
  done: () => void,
): void {
  const api = otelApi();
  const parent = meta === undefined ? api.ROOT_CONTEXT : api.propagation.extract(api.ROOT_CONTEXT, meta);
  const span = tracer.startSpan(
    pattern,
    {
      kind: api.SpanKind.SERVER,
      attributes: {
        ...rpcAttributes(pattern),
        [ATTR_SERVER_ADDRESS]: connection.localAddress,
        [ATTR_SERVER_PORT]: connection.localPort,
        [ATTR_PEER_ADDRESS]: connection.remoteAddress,
        [ATTR_PEER_PORT]: connection.remotePort,
      },
    },
    parent,
  );
  const tracedReply = (answer: unknown, failed: boolean): void => {
    if (failed) recordFailure(api, span, answerFailure(answer, pattern));
    reply(answer, failed);
  };
  const tracedDone = (): void => {
    span.end();
    done();
  };
  api.context.with(api.trace.setSpan(parent, span), () => start(tracedReply, tracedDone));
}

/**
 * What an error answer says: its kind (`RpcException`, `RpcTimeoutException`...) and the code a
 * client reads it as. Nest's exception filters have turned the handler's exception into the
 * answer by now, so its own class is not known here.
 */
function answerFailure(answer: unknown, pattern: string): SpanFailure {
  const remote = parseRemoteError(answer);
  if (remote === undefined) return { type: 'Error', code: undefined, message: String(answer) };
  return { type: remote.kind, code: createRemoteException(remote, { pattern, endpoint: '' }).code, message: remote.message };
}
