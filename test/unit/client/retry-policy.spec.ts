// The one rule for a call its endpoint cannot serve: move it, keep it, fail it, or leave it alone.
import { describe, expect, it } from 'vitest';
import type { RequestState } from '../../../lib/client/pending-request.js';
import { decideRetry, type Displacement, type RetryCase } from '../../../lib/client/retry-policy.js';

type Facts = { state: RequestState; idempotent?: boolean; resent?: boolean };
type Situation = { next?: 'b' | 'a'; closed?: boolean; otherwise?: 'stay' | 'fail'; budget?: boolean };

/** A case on endpoint `'a'`, the balancer offering `next`. */
function situation(facts: Facts, why: Displacement, { next, closed = false, otherwise = 'fail', budget = true }: Situation): RetryCase<string> & { asked: () => number } {
  let asked = 0;
  return {
    request: { idempotent: false, resent: false, ...facts },
    why,
    from: 'a',
    next,
    closed,
    otherwise,
    budget: () => {
      asked++;
      return budget;
    },
    asked: () => asked,
  };
}

const move = (reason: string, resend = false) => ({ kind: 'move', to: 'b', reason, resend });

describe('decideRetry', () => {
  it.each<[string, Facts, Displacement, Situation, object, number]>([
    // A settled call: nothing, whatever happened (item 1 of the lifecycle issue).
    ['settled, lost', { state: 'settled', idempotent: true }, 'lost', { next: 'b' }, { kind: 'drop' }, 0],
    ['settled, unavailable', { state: 'settled' }, 'unavailable', { next: 'b' }, { kind: 'drop' }, 0],
    ['settled, unreachable', { state: 'settled' }, 'unreachable', { next: 'b', otherwise: 'stay' }, { kind: 'drop' }, 0],
    ['settled, ended', { state: 'settled' }, 'ended', {}, { kind: 'drop' }, 0],
    // Written and lost: it may have run.
    ['lost, idempotent, budget left', { state: 'written', idempotent: true }, 'lost', { next: 'b' }, move('connection-lost', true), 1],
    ['lost, idempotent, budget spent', { state: 'written', idempotent: true }, 'lost', { next: 'b', budget: false }, { kind: 'fail' }, 1],
    ['lost, idempotent, sent twice already', { state: 'written', idempotent: true, resent: true }, 'lost', { next: 'b' }, { kind: 'fail' }, 0],
    ['lost, not idempotent', { state: 'written' }, 'lost', { next: 'b' }, { kind: 'fail' }, 0],
    ['lost, idempotent, nowhere to go', { state: 'written', idempotent: true }, 'lost', {}, { kind: 'fail' }, 0],
    ['lost, idempotent, client closed', { state: 'written', idempotent: true }, 'lost', { next: 'b', closed: true }, { kind: 'fail' }, 0],
    ['ended (the client closed it)', { state: 'written', idempotent: true }, 'ended', { next: 'b' }, { kind: 'fail' }, 0],
    // Never ran: moves freely, no budget.
    ['unavailable, another endpoint', { state: 'written' }, 'unavailable', { next: 'b' }, move('unavailable'), 0],
    ['unavailable, none', { state: 'written' }, 'unavailable', {}, { kind: 'fail' }, 0],
    ['unavailable, offered its own endpoint', { state: 'written' }, 'unavailable', { next: 'a' }, { kind: 'fail' }, 0],
    ['unreachable, another endpoint', { state: 'queued' }, 'unreachable', { next: 'b', otherwise: 'stay' }, move('unreachable'), 0],
    ['unreachable, none, may wait', { state: 'queued' }, 'unreachable', { otherwise: 'stay' }, { kind: 'stay' }, 0],
    ['unreachable, none, gave up', { state: 'queued' }, 'unreachable', { otherwise: 'fail' }, { kind: 'fail' }, 0],
    ['unreachable, client closed', { state: 'queued' }, 'unreachable', { next: 'b', closed: true, otherwise: 'stay' }, { kind: 'stay' }, 0],
  ])('%s', (_name, facts, why, around, expected, budgetAsked) => {
    const input = situation(facts, why, around);
    expect(decideRetry(input)).toEqual(expected);
    expect(input.asked()).toBe(budgetAsked);
  });
});
