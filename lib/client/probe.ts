import type { Socket } from 'node:net';
import { ARRPC_DEFAULT_PATTERN, ARRPC_PING_ANSWER, ARRPC_PING_PATTERN } from '../constants.js';
import type { ResolvedClientOptions } from '../options/index.js';
import { MessageEncoder, parseRemoteError, type DecoderLimits, type RemoteError } from '../protocol/index.js';
import { connectSocket, formatAddress, type SocketTarget } from './connect-socket.js';
import { SocketExchange } from './exchange.js';
import type { OutgoingMessage } from './pending-request.js';
import { answerErrorKinds, encodeRequest, type RequestEncoding } from './request-encoding.js';

/**
 * How an ejected (or draining) endpoint is tried before it is readmitted. `'ping'`: the
 * reserved `arrpc.ping`, answered `SERVING` by an `ArrpcServer` that serves (`peer:
 * 'nestjs-arrpc'`). `'message'`: the `probe` option's message, raw, toward a Python server.
 * `'connect'`: a connection that opens is enough (a Python server with no `probe`).
 */
export type ProbeSettings =
  | { readonly kind: 'connect'; readonly timeoutMs: number }
  | { readonly kind: 'ping' | 'message'; readonly timeoutMs: number; readonly exchange: ProbeExchange };

/** The request a probe writes and the answer it wants. */
export interface ProbeExchange {
  readonly message: OutgoingMessage;
  /** Accepts the decoded answer, or says why not. */
  readonly check: (answer: unknown) => string | undefined;
  readonly encoding: RequestEncoding;
  readonly limits: DecoderLimits;
}

/** The probe for these options, with `timeoutMs` as its bound (connect and answer). */
export function createProbeSettings(options: ResolvedClientOptions, timeoutMs: number, encoding: RequestEncoding): ProbeSettings {
  const limits: DecoderLimits = { maxMessageBytes: options.maxMessageBytes };
  if (options.peer === 'nestjs-arrpc') {
    const message: OutgoingMessage = { kind: 'request', pattern: ARRPC_PING_PATTERN, data: null, metadata: undefined };
    const check = (answer: unknown): string | undefined => (answer === ARRPC_PING_ANSWER ? undefined : `answered ${describe(answer)}`);
    return { kind: 'ping', timeoutMs, exchange: { message, check, encoding, limits } };
  }
  const probe = options.probe;
  if (probe === undefined) return { kind: 'connect', timeoutMs };
  const message: OutgoingMessage = { kind: 'request', pattern: ARRPC_DEFAULT_PATTERN, data: probe.message, metadata: undefined };
  // Compared as re-encoded bytes: equal values encode alike, whatever their JS shapes.
  const encoder = new MessageEncoder();
  const expected = probe.expect === undefined ? undefined : Buffer.from(encoder.encode(probe.expect));
  const check = (answer: unknown): string | undefined =>
    expected === undefined || expected.equals(encoder.encode(answer)) ? undefined : `answered ${describe(answer)}, not the expected answer`;
  return { kind: 'message', timeoutMs, exchange: { message, check, encoding, limits } };
}

/**
 * Opens one connection and runs the probe on it. Resolves with the socket, left in step (one
 * request, its one answer, nothing more), for the endpoint to keep; rejects with why not.
 */
export async function runProbe(target: Omit<SocketTarget, 'timeoutMs'>, probe: ProbeSettings, signal: AbortSignal): Promise<Socket> {
  const started = performance.now();
  const socket = await connectSocket({ ...target, timeoutMs: probe.timeoutMs }, signal);
  if (probe.kind === 'connect') return socket;
  const exchange = new SocketExchange(socket, probe.exchange.limits);
  try {
    const remaining = Math.max(1, Math.floor(probe.timeoutMs - (performance.now() - started)));
    const { refusal } = await askProbe(exchange, probe.exchange, new MessageEncoder(), remaining, signal);
    if (refusal !== undefined) throw new Error(`probe of ${formatAddress(target.host, target.port)} ${refusal}`);
    return exchange.release();
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/** How a server answered a probe's request: the error the answer carries, and why the probe refuses it. */
export interface ProbeVerdict {
  readonly remote: RemoteError | undefined;
  /** `undefined` when the answer is the one wanted. */
  readonly refusal: string | undefined;
}

/**
 * Writes `probe`'s request on `exchange`, with `timeoutMs` as its deadline, and judges the
 * answer: an error answer is refused with its kind and message, any other by `probe.check`.
 * The one round trip of a readmission probe and of a health check alike.
 */
export async function askProbe(
  exchange: SocketExchange,
  probe: ProbeExchange,
  encoder: MessageEncoder,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeVerdict> {
  const answer = await exchange.send(encodeRequest(encoder, probe.message, timeoutMs, probe.encoding), timeoutMs, signal);
  const remote = parseRemoteError(answer, answerErrorKinds(probe.encoding, probe.message));
  return { remote, refusal: remote ? `answered ${remote.kind}: ${remote.message}` : probe.check(answer) };
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
