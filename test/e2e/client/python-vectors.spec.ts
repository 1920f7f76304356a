// Every vector case with a `sent_value`, sent by ArrpcClient to a peer that behaves like the
// Python reference server: the request bytes are the Python client's, and each captured outcome
// becomes a typed error or a documented value.
import { expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  AuthException,
  ConnectionLostException,
  RemoteRpcException,
  RpcTimeoutException,
  decodeMessage,
} from '../../../lib/index.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { describeVectors, fromTagged, type VectorCase } from '../../support/vectors.js';
import { holdsWholeFloat } from '../../support/vectors.js';
import { clientFactory, outcomeOf, useCleanup, type Outcome } from './helpers.js';

/** How long a case waits for an answer the reference never sends (falsy requests). */
const SILENCE_MS = 150;

const track = useCleanup();
const newClient = clientFactory(track);

describeVectors('ArrpcClient against a Python-like server: every vector case with a sent_value', (vectors) => {
  const cases = vectors.cases.filter((vector) => vector.sent_value !== undefined);

  it('has cases to send', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases.map((vector) => [vector.name, vector] as const))('%s', async (_name, vector) => {
    const peer = track(await startPythonPeer({ authSecret: vector.server_auth_secret ?? undefined }));
    const client = newClient({ port: peer.port, authSecret: vector.client_auth_secret ?? undefined, timeout: SILENCE_MS });
    const outcome = await outcomeOf(client.call(ARRPC_DEFAULT_PATTERN, fromTagged(vector.sent_value)));

    const captured = vector.wire[0]!;
    expect(captured.direction).toBe('request');
    expect(peer.requests).toHaveLength(1);
    const written = peer.requests[0]!;
    if (holdsWholeFloat(vector.sent_value)) {
      // Named exception (DECISIONS.md "Codec"): JS writes Python's 2.0 as the int 2.
      expect(vector.name).toBe('map-mixed');
      expect(decodeMessage(written)).toEqual(fromTagged(captured.decoded));
    } else {
      expect(written.toString('hex')).toBe(captured.hex);
    }
    expectOutcome(outcome, vector);
  });
});

/**
 * The Python client's result, as ArrpcClient reports it. Where they differ it is on purpose and
 * in docs/python.md: a falsy answer (0, false, "") is returned as it is, not as None; a dropped
 * connection is a ConnectionLostException, not None.
 */
function expectOutcome(outcome: Outcome, vector: VectorCase): void {
  const result = vector.python_client_result!;
  const response = vector.wire.find((turn) => turn.direction === 'response');
  switch (result.kind) {
    case 'value':
      if (response === undefined) {
        expect(vector.server_closed_connection).toBe(true);
        expect(outcome).toEqual({ error: expect.any(ConnectionLostException) });
      } else {
        expect(outcome).toEqual({ value: fromTagged(response.decoded) });
        // Python's None stands for any falsy answer; every other result is the answer itself.
        if (result.value !== null) expect(result.value).toEqual(response.decoded);
      }
      return;
    case 'RpcException':
      expect(outcome).toEqual({ error: expect.any(RemoteRpcException) });
      expect(errorIn(outcome)).toMatchObject({ message: result.message, code: 'ARRPC_ERR_REMOTE' });
      expect((errorIn(outcome) as RemoteRpcException).getError()).toBe(result.message);
      return;
    case 'AuthException':
      expect(outcome).toEqual({ error: expect.any(AuthException) });
      expect(errorIn(outcome)).toMatchObject({ message: result.message, code: 'ARRPC_ERR_AUTH' });
      return;
    case 'RpcTimeoutException':
      expect(outcome).toEqual({ error: expect.any(RpcTimeoutException) });
      expect(errorIn(outcome)).toMatchObject({ message: result.message, remote: false });
      return;
    default:
      throw new Error(`no expectation for ${result.kind}`);
  }
}

function errorIn(outcome: Outcome): unknown {
  return 'error' in outcome ? outcome.error : undefined;
}
