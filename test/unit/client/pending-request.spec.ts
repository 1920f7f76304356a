// A call's lifecycle: queued, written, settled, and nothing out of settled.
import { describe, expect, it } from 'vitest';
import { LinkedQueue } from '../../../lib/client/linked-queue.js';
import { PendingRequest, type RequestLine, type RequestSite } from '../../../lib/client/pending-request.js';

const site = (address: string): RequestSite => ({ address, metrics: undefined, connecting: false, lastConnectError: undefined });

function call() {
  const outcomes: [Error | undefined, unknown][] = [];
  const request = new PendingRequest({ kind: 'request', pattern: 'p', data: 1, metadata: undefined }, undefined, (error, value) => outcomes.push([error, value]));
  return { request, outcomes };
}

/** A connection that records the calls abandoned on it. */
function line(): RequestLine & { abandoned: Error[] } {
  const abandoned: Error[] = [];
  return { abandoned, abandon: (_request, reason) => void abandoned.push(reason) };
}

describe('PendingRequest', () => {
  it('goes queued, written, settled; settles once', () => {
    const { request, outcomes } = call();
    const queue = new LinkedQueue<PendingRequest>();
    expect(request.placeOn(site('a'), queue)).toBe(true);
    expect([request.state, queue.size]).toEqual(['queued', 1]);
    expect(request.markWritten(line(), 10)).toBe(true);
    expect([request.state, queue.size, request.bytes]).toEqual(['written', 0, 10]);
    request.succeed('answer');
    request.fail(new Error('late'));
    expect(request.state).toBe('settled');
    expect(outcomes).toEqual([[undefined, 'answer']]);
  });

  it('never leaves settled: not placed, not written, not withdrawn', () => {
    const { request, outcomes } = call();
    const queue = new LinkedQueue<PendingRequest>();
    const connection = line();
    request.placeOn(site('a'), queue);
    request.markWritten(connection, 1);
    request.withdraw(new Error('timed out'));
    expect(request.placeOn(site('b'), queue)).toBe(false);
    expect(request.markWritten(connection, 1)).toBe(false);
    request.withdraw(new Error('again'));
    expect([request.state, request.site?.address, queue.size]).toEqual(['settled', 'a', 0]);
    expect(outcomes).toHaveLength(1);
    expect(connection.abandoned.map((error) => error.message)).toEqual(['timed out']);
  });

  it('leaves its queue by itself when withdrawn there, without telling any connection', () => {
    const { request } = call();
    const queue = new LinkedQueue<PendingRequest>();
    const before = call().request;
    before.placeOn(site('a'), queue);
    request.placeOn(site('a'), queue);
    request.withdraw(new Error('cancelled'));
    expect([...queue]).toEqual([before]);
  });

  it('moves: out of the queue it was in, with where it was kept for its ConnectException', () => {
    const { request } = call();
    const [a, b] = [site('a'), site('b')];
    const [queueA, queueB] = [new LinkedQueue<PendingRequest>(), new LinkedQueue<PendingRequest>()];
    request.placeOn(a, queueA);
    request.attemptsHere = 2;
    request.placeOn(b, queueB, 'ejected');
    expect([queueA.size, queueB.size]).toEqual([0, 1]);
    expect(request.route()).toEqual([
      { endpoint: a, attempts: 2, note: 'ejected' },
      { endpoint: b, attempts: 0 },
    ]);
    expect([request.hasTried(a), request.hasTried(b), request.hasTried(site('c'))]).toEqual([true, true, false]);
  });

  it('goes back to queued from written, to be sent elsewhere', () => {
    const { request } = call();
    const queue = new LinkedQueue<PendingRequest>();
    request.placeOn(site('a'), queue);
    request.markWritten(line(), 1);
    expect(request.placeOn(site('b'), queue, 'connection lost')).toBe(true);
    expect(request.state).toBe('queued');
  });
});
