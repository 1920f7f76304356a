// The ledger of the load specs: what a request is (its route, its handler's mode, its payload that
// names its id), how it ended (one outcome code per id, in typed arrays allocated up front, so the
// bookkeeping itself does not show in the memory figures), and how often the handlers ran it.
import { isDeepStrictEqual } from 'node:util';
import {
  AuthException,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  RemoteRpcException,
  RpcTimeoutException,
  UnavailableException,
} from '../../lib/index.js';

/** What a handler does with a request. */
export const Mode = { Echo: 0, Wait: 1, Throw: 2, ThrowObject: 3, Doomed: 4, Cancelled: 5 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** Where a request goes, and how it is sent. */
export const Route = { Raw: 0, Named: 1, Object: 2, Event: 3 } as const;
export type Route = (typeof Route)[keyof typeof Route];

/** What every request carries; the handlers answer with its `id`. */
export interface LoadPayload {
  readonly id: number;
  readonly mode: Mode;
  /** How long `Wait`, `Doomed` and `Cancelled` sleep, in ms. */
  readonly ms: number;
  /** Its first 4 bytes hold `id` (little-endian) when long enough; the rest is `fillOf(id)`. */
  readonly blob: Uint8Array;
}

/** Executions per request id, counted by the handlers as they start (saturates at 255). */
let executions: Uint8Array = new Uint8Array(0);

/** Counts one run of request `id`; the handlers call it as they start. */
export function countExecution(id: unknown): void {
  if (typeof id === 'number' && id > 0 && id < executions.length && executions[id]! < 255) executions[id]!++;
}

/** The fill byte of request `id`'s blob. */
function fillOf(id: number): number {
  return (id * 31 + 7) & 0xff;
}

/** A blob of `size` bytes that names `id`. */
export function blobFor(id: number, size: number): Uint8Array {
  const blob = new Uint8Array(size).fill(fillOf(id));
  if (size >= 4) new DataView(blob.buffer).setUint32(0, id, true);
  return blob;
}

function blobNames(blob: unknown, id: number, size: number): boolean {
  if (!(blob instanceof Uint8Array) || blob.length !== size) return false;
  if (size === 0) return true;
  if (size >= 4 && new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true) !== id) return false;
  return size === 4 || blob[size - 1] === fillOf(id);
}

/** The error classes a call may end with, in the order of their outcome codes. */
export const TYPED_ERRORS = [
  AuthException,
  RemoteRpcException,
  ConnectException,
  RpcTimeoutException,
  UnavailableException,
  ConnectionLostException,
  CancelledException,
  ClientClosedException,
  InvalidResponseException,
] as const;

/** How a request ended, one byte per id. A typed error that its mode did not ask for is `Typed + index`. */
export const Outcome = {
  Unused: 0,
  Pending: 1,
  /** The answer its own id and mode call for. */
  Answered: 2,
  /** `RemoteRpcException` naming its own id, for the modes that throw. */
  Refused: 3,
  /** `RpcTimeoutException` for a doomed request. */
  TimedOut: 4,
  /** `CancelledException` for a request its caller aborted, or unsubscribed from before its answer. */
  Cancelled: 5,
  Typed: 10,
  /** An answer or remote error that belongs to another request, or the wrong kind of answer. */
  Wrong: 30,
  /** An error of no exported class. */
  Untyped: 31,
} as const;

/** The outcome code of a typed error of `type`. */
export function typedOutcome(type: (typeof TYPED_ERRORS)[number]): number {
  return Outcome.Typed + TYPED_ERRORS.indexOf(type);
}

/** One request as planned by a worker. */
export interface Plan {
  readonly route: Route;
  readonly mode: Mode;
  readonly size: number;
  readonly ms: number;
  /** Sent with `send()` and watched as an Observable rather than with `call()`. */
  readonly observable: boolean;
  /** `Cancelled` mode: ms after the call when its caller aborts, or unsubscribes. */
  readonly cancelAfterMs?: number;
}

/** Ids a full ledger still hands out, to requests outside the workers' loops. */
export const LEDGER_RESERVE = 1000;

/** At most this many problem descriptions are kept. */
const MAX_NOTES = 20;

/**
 * Every request of one spec file, by id (1-based, handed out in order, never reused). Capacity is
 * fixed up front; workers stop issuing when it is reached, which bounds every loop in count.
 */
export class Ledger {
  readonly outcome: Uint8Array;
  readonly client: Uint8Array;
  readonly route: Uint8Array;
  readonly mode: Uint8Array;
  /** ms since the ledger was made, when issued and when settled. */
  readonly issuedAt: Float64Array;
  readonly settledAt: Float64Array;
  readonly started = performance.now();
  /** Ids handed out so far (the last id). */
  issued = 0;
  /** Settlements of an id that had settled already. */
  duplicates = 0;
  /** Requests that ended in `Wrong`, `Untyped`, or a second settlement: what and why. */
  readonly notes: string[] = [];
  /** Payload bytes sent, and payloads of 64 KiB or more, for the figures. */
  bytesSent = 0;
  largeSent = 0;

  constructor(readonly capacity: number) {
    const n = capacity + 1;
    this.outcome = new Uint8Array(n);
    this.client = new Uint8Array(n);
    this.route = new Uint8Array(n);
    this.mode = new Uint8Array(n);
    this.issuedAt = new Float64Array(n);
    this.settledAt = new Float64Array(n);
    executions = new Uint8Array(n);
  }

  /** Executions per id counted by the handlers of this process. */
  get executions(): Uint8Array {
    return executions;
  }

  /** True once workers must stop issuing; the last {@link LEDGER_RESERVE} ids are kept for priming and checks. */
  get full(): boolean {
    return this.issued >= this.capacity - LEDGER_RESERVE;
  }

  now(): number {
    return performance.now() - this.started;
  }

  issue(client: number, plan: Plan): number {
    if (this.issued >= this.capacity) throw new Error(`the ledger holds ${this.capacity} requests`);
    const id = ++this.issued;
    this.outcome[id] = Outcome.Pending;
    this.client[id] = client;
    this.route[id] = plan.route;
    this.mode[id] = plan.mode;
    this.issuedAt[id] = this.now();
    this.bytesSent += plan.size;
    if (plan.size >= 64 * 1024) this.largeSent++;
    return id;
  }

  /** Records how request `id` ended; a second settlement is counted and noted, never overwrites. */
  settle(id: number, plan: Plan, ended: { value: unknown } | { error: unknown }): void {
    const outcome = 'value' in ended ? judgeAnswer(id, plan, ended.value) : judgeError(id, plan, ended.error);
    if (this.outcome[id] !== Outcome.Pending) {
      this.duplicates++;
      return this.note(`id ${id} settled again (${describe(ended)}) after outcome ${this.outcome[id]}`);
    }
    this.outcome[id] = outcome;
    this.settledAt[id] = this.now();
    if (outcome === Outcome.Wrong || outcome === Outcome.Untyped) this.note(`id ${id} (route ${plan.route}, mode ${plan.mode}): ${describe(ended)}`);
  }

  note(text: string): void {
    if (this.notes.length < MAX_NOTES) this.notes.push(text);
  }

  /** Requests per outcome code over ids `from..to` (default all); those not ended yet count as `Pending`. */
  tally(from = 1, to = this.issued): Map<number, number> {
    const counts = new Map<number, number>();
    for (let id = from; id <= to; id++) counts.set(this.outcome[id]!, (counts.get(this.outcome[id]!) ?? 0) + 1);
    return counts;
  }

  /** A tally as readable names, for the test output and for `toEqual`. */
  named(counts: Map<number, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [code, count] of [...counts].sort((a, b) => a[0] - b[0])) out[outcomeName(code)] = count;
    return out;
  }
}

export function outcomeName(code: number): string {
  if (code >= Outcome.Typed && code < Outcome.Typed + TYPED_ERRORS.length) return TYPED_ERRORS[code - Outcome.Typed]!.name;
  return Object.entries(Outcome).find(([, value]) => value === code)?.[0] ?? `code ${code}`;
}

function judgeAnswer(id: number, plan: Plan, value: unknown): number {
  if (plan.route === Route.Event) return value === null ? Outcome.Answered : Outcome.Wrong;
  const answer = value as { id?: unknown; blob?: unknown; size?: unknown } | null;
  if (answer === null || typeof answer !== 'object' || answer.id !== id) return Outcome.Wrong;
  if (plan.mode === Mode.Echo) return blobNames(answer.blob, id, plan.size) ? Outcome.Answered : Outcome.Wrong;
  if (plan.mode === Mode.Wait || plan.mode === Mode.Cancelled) return answer.size === plan.size ? Outcome.Answered : Outcome.Wrong;
  return Outcome.Wrong; // the modes that throw or time out have no answer
}

function judgeError(id: number, plan: Plan, error: unknown): number {
  const type = TYPED_ERRORS.find((candidate) => error instanceof candidate);
  if (type === undefined) return Outcome.Untyped;
  if (error instanceof RemoteRpcException) {
    const said = error.getError();
    if (plan.mode === Mode.Throw) return said === `refused ${id}` ? Outcome.Refused : Outcome.Wrong;
    if (plan.mode === Mode.ThrowObject) return isDeepStrictEqual(said, { refused: id }) ? Outcome.Refused : Outcome.Wrong;
    return Outcome.Wrong; // an answer meant for a request that threw
  }
  if (error instanceof RpcTimeoutException && plan.mode === Mode.Doomed && !error.remote) return Outcome.TimedOut;
  if (error instanceof CancelledException && plan.mode === Mode.Cancelled) return Outcome.Cancelled;
  return typedOutcome(type);
}

function describe(ended: { value: unknown } | { error: unknown }): string {
  if ('error' in ended) {
    const error = ended.error as Error;
    return `error ${error?.name}: ${String(error?.message).slice(0, 200)}`;
  }
  const value = ended.value as { id?: unknown } | null;
  return `answer ${typeof value === 'object' && value !== null ? `with id ${String(value.id)}` : JSON.stringify(value)}`;
}
