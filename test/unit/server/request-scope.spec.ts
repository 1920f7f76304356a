import { describe, expect, it } from 'vitest';
import { closedReason, RequestScope } from '../../../lib/server/request-scope.js';

describe('RequestScope', () => {
  it('has no deadline and a quiet signal by default', () => {
    const scope = new RequestScope(undefined);
    expect(scope.expired).toBe(false);
    expect(scope.signal().aborted).toBe(false);
  });

  it('makes one signal, on the first call', () => {
    const scope = new RequestScope(undefined);
    expect(scope.signal()).toBe(scope.signal());
  });

  it('fires the signal at the deadline with a TimeoutError', async () => {
    const scope = new RequestScope(Date.now() + 30);
    const signal = scope.signal();
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect(scope.expired).toBe(true);
  });

  it('shows an abort that came before the signal was asked for', () => {
    const scope = new RequestScope(undefined);
    scope.abort(closedReason('the connection closed'));
    expect(scope.signal().aborted).toBe(true);
    expect((scope.signal().reason as DOMException).message).toBe('the connection closed');
  });

  it('is aborted at once when asked for after its deadline', () => {
    expect(new RequestScope(Date.now() - 1).signal().aborted).toBe(true);
  });

  it('aborts nothing once the handler ended', async () => {
    const scope = new RequestScope(Date.now() + 20);
    const signal = scope.signal();
    scope.end();
    scope.abort(closedReason('late'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(signal.aborted).toBe(false);
  });

  it('sets no timer for a deadline beyond what setTimeout can hold', () => {
    const scope = new RequestScope(Date.now() + 2 ** 32);
    expect(scope.signal().aborted).toBe(false);
  });
});
