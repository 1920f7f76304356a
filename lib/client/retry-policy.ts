import type { RequestState } from './pending-request.js';

/**
 * Why a call that has not settled may need another endpoint. `'lost'`: written, then its
 * connection broke (`ConnectionLostException`): it may have run. `'unavailable'`: answered
 * `UnavailableException` (the server drains): it never ran. `'unreachable'`: queued where no
 * connection opens (an attempt failed, the endpoint went down, or gave up): it never ran.
 * `'ended'`: written, then its connection was closed for a reason no retry helps (the client
 * closed, say).
 */
export type Displacement = 'lost' | 'unavailable' | 'unreachable' | 'ended';

/** The `reason` label of `arrpc_client_retries_total` for a call sent elsewhere. */
export type RetryReason = 'connection-lost' | 'unavailable' | 'unreachable';

/** What the policy reads of one call and its surroundings. */
export interface RetryCase<E> {
  readonly request: { readonly state: RequestState; readonly idempotent: boolean; readonly resent: boolean };
  readonly why: Displacement;
  /** The endpoint it is on. */
  readonly from: E | undefined;
  /** The endpoint the balancer offers it (one it has not been on), if any. */
  readonly next: E | undefined;
  /** The client is closed: nothing moves. */
  readonly closed: boolean;
  /** What to do when it cannot move and its error does not end it: wait where it is, or fail. */
  readonly otherwise: 'stay' | 'fail';
  /** Takes one re-send of a written call from the retry budget; asked only when one is due. */
  readonly budget: () => boolean;
}

/**
 * `'drop'`: it has settled, nothing may happen to it; `'stay'`: it waits where it is; `'fail'`:
 * it ends with its error; `'move'`: it is queued on `to`, counted as a retry for `reason`
 * (`resend`: written before, it may now run twice).
 */
export type RetryDecision<E> =
  | { readonly kind: 'drop' | 'stay' | 'fail' }
  | { readonly kind: 'move'; readonly to: E; readonly reason: RetryReason; readonly resend: boolean };

const DROP = { kind: 'drop' } as const;
const FAIL = { kind: 'fail' } as const;
const STAY = { kind: 'stay' } as const;

/**
 * Where a displaced call goes, in one place: a call that never ran moves to any endpoint it
 * has not been on; a written one moves only when idempotent, once, within the retry budget; a
 * settled one never moves, nor is failed or counted again.
 */
export function decideRetry<E>(input: RetryCase<E>): RetryDecision<E> {
  const { request, why, from, next, closed } = input;
  if (request.state === 'settled') return DROP;
  const to = closed || next === from ? undefined : next;
  switch (why) {
    case 'ended':
      return FAIL;
    case 'lost':
      if (to === undefined || !request.idempotent || request.resent || !input.budget()) return FAIL;
      return { kind: 'move', to, reason: 'connection-lost', resend: true };
    case 'unavailable':
      return to === undefined ? FAIL : { kind: 'move', to, reason: 'unavailable', resend: false };
    case 'unreachable':
      if (to !== undefined) return { kind: 'move', to, reason: 'unreachable', resend: false };
      return input.otherwise === 'fail' ? FAIL : STAY;
  }
}
