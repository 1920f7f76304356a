// Shared pieces of the load specs (soak.spec.ts, restart.spec.ts): handlers that echo, wait or throw
// and count how often each request id ran (ledger.ts); closed-loop workers that drive ArrpcClients
// with seeded random requests (some timed out or cancelled on purpose) until told to stop; the
// three kinds of server and the mix of clients each gets.
import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import {
  ARRPC_DEFAULT_PATTERN,
  CancelledException,
  ConnectException,
  DEFAULT_POOL_SIZE,
  UnavailableException,
  type ArrpcCallOptions,
  type ArrpcClient,
  type ArrpcClientOptions,
  type ArrpcServerOptions,
} from '../../lib/index.js';
import { sleep } from '../e2e/server/helpers.js';
import { getTestCerts } from '../support/certs.js';
import { Ledger, Mode, Route, blobFor, countExecution, typedOutcome, type LoadPayload, type Plan } from './ledger.js';

/** The patterns requests go to, beside the raw default pattern. */
export const NAMED_PATTERN = 'soak.echo';
export const OBJECT_PATTERN = { cmd: 'soak', v: 1 } as const;
export const EVENT_PATTERN = 'soak.event';

/** How long a doomed request's handler sleeps, and the caller's timeout for it. */
export const DOOMED_SLEEP_MS = 250;
export const DOOMED_TIMEOUT_MS = 40;

/** Every handler the load reaches; registered on each server of the specs. */
@Controller()
export class LoadController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  raw(@Payload() payload: LoadPayload): Promise<unknown> {
    return serve(payload);
  }

  @MessagePattern(NAMED_PATTERN)
  named(@Payload() payload: LoadPayload): Promise<unknown> {
    return serve(payload);
  }

  @MessagePattern(OBJECT_PATTERN)
  object(@Payload() payload: LoadPayload): Promise<unknown> {
    return serve(payload);
  }

  @EventPattern<string>(EVENT_PATTERN)
  event(@Payload() payload: LoadPayload): void {
    countExecution(payload?.id);
  }
}

async function serve(payload: LoadPayload): Promise<unknown> {
  const { id, mode, ms, blob } = payload;
  countExecution(id);
  switch (mode) {
    case Mode.Echo:
      return { id, blob };
    case Mode.Throw:
      throw new RpcException(`refused ${id}`);
    case Mode.ThrowObject:
      throw new RpcException({ refused: id });
    default:
      await sleep(ms);
      return { id, size: blob.length };
  }
}

/** A seeded generator (mulberry32): the same seed plans the same requests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Largest payload blob: 1 MiB. */
export const MAX_BLOB_BYTES = 1024 * 1024;

/** Mostly small, some medium, a few large, a very few exactly 1 MiB. */
export function plannedSize(random: () => number): number {
  const r = random();
  if (r < 0.88) return Math.floor(random() * 600);
  if (r < 0.99) return 600 + Math.floor(random() * (64 * 1024 - 600));
  if (r < 0.998) return 64 * 1024 + Math.floor(random() * (MAX_BLOB_BYTES - 64 * 1024));
  return MAX_BLOB_BYTES;
}

/** How the workers plan requests. */
export interface PlanSettings {
  /**
   * Share of requests (events aside) that are doomed, a 250 ms handler under a 40 ms timeout; and
   * as many again that are cancelled 2 to 40 ms after the call (an AbortSignal, or an unsubscribe
   * from `send()`), their handler taking 20 to 60 ms.
   */
  readonly faultShare: number;
}

/** Plans one request; `rawOnly` keeps to the raw default pattern, as a Python client would. */
export function planRequest(random: () => number, settings: PlanSettings, rawOnly = false): Plan {
  const r = random();
  const route = rawOnly || r < 0.3 ? Route.Raw : r < 0.6 ? Route.Named : r < 0.8 ? Route.Object : Route.Event;
  const size = plannedSize(random);
  if (route === Route.Event) return { route, mode: Mode.Echo, size, ms: 0, observable: true };
  const m = random();
  if (m < settings.faultShare) return { route, mode: Mode.Doomed, size, ms: DOOMED_SLEEP_MS, observable: false };
  if (m < 2 * settings.faultShare) {
    const ms = 20 + Math.floor(random() * 40);
    return { route, mode: Mode.Cancelled, size, ms, observable: random() < 0.5, cancelAfterMs: 2 + Math.floor(random() * 38) };
  }
  const mode = m < 0.6 ? Mode.Echo : m < 0.86 ? Mode.Wait : m < 0.94 ? Mode.Throw : Mode.ThrowObject;
  return { route, mode, size, ms: mode === Mode.Wait ? 1 + Math.floor(random() * 25) : 0, observable: random() < 0.25 };
}

function patternOf(route: Route): unknown {
  return route === Route.Raw ? ARRPC_DEFAULT_PATTERN : route === Route.Named ? NAMED_PATTERN : route === Route.Object ? OBJECT_PATTERN : EVENT_PATTERN;
}

/** Sends one planned request as `id` and records its end; resolves once it ended (never rejects). */
export function sendPlanned(client: ArrpcClient, ledger: Ledger, id: number, plan: Plan): Promise<void> {
  const payload: LoadPayload = { id, mode: plan.mode, ms: plan.ms, blob: blobFor(id, plan.size) };
  const pattern = patternOf(plan.route);
  if (plan.route === Route.Event) return watch(client.emit(pattern, payload), ledger, id, plan);
  if (plan.observable) return watch(client.send(pattern, payload), ledger, id, plan);
  const options: ArrpcCallOptions = plan.mode === Mode.Doomed ? { timeoutMs: DOOMED_TIMEOUT_MS } : {};
  let timer: NodeJS.Timeout | undefined;
  if (plan.cancelAfterMs !== undefined) {
    const controller = new AbortController();
    timer = setTimeout(() => controller.abort(), plan.cancelAfterMs);
    options.signal = controller.signal;
  }
  return client.call(pattern, payload, options).then(
    (value: unknown) => ledger.settle(id, plan, { value }),
    (error: unknown) => ledger.settle(id, plan, { error }),
  ).finally(() => clearTimeout(timer));
}

/**
 * Subscribes to `source`, which must emit exactly one value and complete, or error once; with
 * `plan.cancelAfterMs`, unsubscribes then unless it has ended, and records the request cancelled.
 */
function watch(source: Observable<unknown>, ledger: Ledger, id: number, plan: Plan): Promise<void> {
  return new Promise((resolve) => {
    let values = 0;
    let last: unknown;
    let timer: NodeJS.Timeout | undefined;
    const subscription = source.subscribe({
      next: (value) => {
        if (++values > 1) ledger.note(`id ${id}: a second value from its Observable`);
        last = value;
      },
      error: (error: unknown) => {
        clearTimeout(timer);
        ledger.settle(id, plan, { error });
        resolve();
      },
      complete: () => {
        clearTimeout(timer);
        if (values === 1) ledger.settle(id, plan, { value: last });
        else ledger.settle(id, plan, { error: new Error(`completed after ${values} values`) });
        resolve();
      },
    });
    if (plan.cancelAfterMs === undefined || subscription.closed) return;
    timer = setTimeout(() => {
      subscription.unsubscribe();
      ledger.settle(id, plan, { error: new CancelledException({ pattern: patternOf(plan.route), endpoint: 'unsubscribed by the test' }) });
      resolve();
    }, plan.cancelAfterMs);
  });
}

/** A client under load and how many workers drive it. */
export interface LoadClient {
  readonly index: number;
  readonly client: ArrpcClient;
  readonly workers: number;
  /** Shown in the figures. */
  readonly label: string;
  /** Sends plain messages to the raw default pattern only. */
  readonly rawOnly?: boolean;
}

/** Outcomes after which a worker pauses {@link UNREACHABLE_PAUSE_MS}: the server was not there to run the request. */
const UNREACHABLE = new Set<number>([typedOutcome(ConnectException), typedOutcome(UnavailableException)]);
const UNREACHABLE_PAUSE_MS = 20;

/**
 * Runs every client's workers, each a loop of one request at a time, until `stop()` says so or
 * the ledger is full. Resolves once every worker's last request has ended.
 */
export async function runWorkers(clients: readonly LoadClient[], ledger: Ledger, seed: number, settings: PlanSettings, stop: () => boolean): Promise<void> {
  const loops: Promise<void>[] = [];
  for (const load of clients) {
    for (let w = 0; w < load.workers; w++) {
      const random = seededRandom(seed + load.index * 1000 + w);
      loops.push(
        (async () => {
          while (!stop() && !ledger.full) {
            const plan = planRequest(random, settings, load.rawOnly);
            const id = ledger.issue(load.index, plan);
            await sendPlanned(load.client, ledger, id, plan);
            // As a caller would: no hot loop of calls that fail at once while a server is away.
            if (UNREACHABLE.has(ledger.outcome[id]!)) await sleep(UNREACHABLE_PAUSE_MS);
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
}

/** Waits for `work`, at most `ms`; true when it finished. */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([work.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return finished;
}

/** The three kinds of server under load. */
export const SERVER_KINDS = ['plain', 'signed', 'tls'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

const SECRET = 'load-secret';

/** Server options for `kind` (added to the spec's own). */
export function serverOptionsFor(kind: ServerKind): ArrpcServerOptions {
  if (kind === 'signed') return { authSecret: SECRET };
  if (kind === 'tls') {
    const { server } = getTestCerts();
    return { tls: { cert: server.cert, key: server.key } };
  }
  return {};
}

/** Client options that reach a server of `kind` (port aside). */
export function clientOptionsFor(kind: ServerKind): Omit<ArrpcClientOptions, 'port'> {
  if (kind === 'signed') return { authSecret: SECRET };
  if (kind === 'tls') return { tls: { ca: getTestCerts().ca.cert } };
  return {};
}

/** One client of the mix: its pool and pipeline, and how many workers drive it. */
export interface ClientShape {
  readonly peer?: 'nestjs-arrpc';
  readonly pipeline?: number;
  readonly poolSize?: number;
  readonly workers: number;
  /** Plain messages to the raw default pattern only, as a Python client sends. */
  readonly rawOnly?: boolean;
}

/**
 * The eight clients each server gets: pipelined Nest peers (some with more workers than
 * `poolSize × pipeline`, so calls queue) and default Python-peer clients, one request per
 * connection, one of which sends only what a Python client sends (a draining server serves it
 * until its deadline).
 */
export const CLIENT_MIX: readonly ClientShape[] = [
  { peer: 'nestjs-arrpc', pipeline: 8, poolSize: 2, workers: 20 },
  { peer: 'nestjs-arrpc', pipeline: 4, poolSize: 3, workers: 12 },
  { peer: 'nestjs-arrpc', pipeline: 16, poolSize: 1, workers: 16 },
  { peer: 'nestjs-arrpc', pipeline: 2, poolSize: 1, workers: 3 },
  { poolSize: 2, workers: 3 },
  { workers: 1 },
  { workers: 2, rawOnly: true },
  { poolSize: 3, workers: 4 },
];

/** "nest p8x2" or "python x3": a shape as the figures print it. */
export function describeShape(shape: ClientShape): string {
  if (shape.peer !== undefined) return `nest p${shape.pipeline ?? 1}x${shape.poolSize ?? DEFAULT_POOL_SIZE}`;
  return `python x${shape.poolSize ?? DEFAULT_POOL_SIZE}${shape.rawOnly ? ' raw only' : ''}`;
}

/**
 * Connections a client of `shape` opens at most: its pool's bound, or its workers when fewer
 * (a call opens a connection only when every open one is busy with another worker's call).
 */
export function connectionsOf(shape: ClientShape): number {
  return Math.min(shape.poolSize ?? DEFAULT_POOL_SIZE, shape.workers);
}
