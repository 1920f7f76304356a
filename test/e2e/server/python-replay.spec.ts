// Every captured Python-client exchange of vectors.json, replayed against an ArrpcServer: the
// captured request bytes go in on a raw socket, the captured answer bytes must come out. Where the
// reference answered nothing or dropped the connection, this project's documented behaviour is
// asserted instead, and the test title names the deviation.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, MessageEncoder, widenForPythonReader } from '../../../lib/index.js';
import { connectRaw, type RawSocket } from '../../support/sockets.js';
import { describeVectors, fromTagged, holdsWholeFloat, type VectorCase } from '../../support/vectors.js';
import { TestPeer, startServer, type TestServer } from './helpers.js';

/** Short, so the case whose bytes never finish a message closes quickly. */
const INCOMPLETE_MS = 300;
const encoder = new MessageEncoder();

/** The reference's test handler: echo, `{raise}` -> RpcException, `{return}` -> value, `{crash}` -> plain Error. */
@Controller()
class ReplayController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  replay(@Payload() message: unknown): unknown {
    if (message === null || typeof message !== 'object' || Array.isArray(message) || message instanceof Uint8Array) return message;
    const map = message as Record<string, unknown>;
    if ('raise' in map) throw new RpcException(String(map['raise']));
    if ('return' in map) return map['return'];
    if ('crash' in map) throw new Error('crash requested');
    return message;
  }
}

type Check = (socket: RawSocket, request: Buffer, vector: VectorCase) => Promise<void>;

/** Reads exactly the bytes `expected` holds and compares them. */
async function expectAnswer(socket: RawSocket, expected: Buffer): Promise<void> {
  expect((await socket.readBytes(expected.length)).toString('hex')).toBe(expected.toString('hex'));
}

const answeredAsEcho: Check = async (socket, request) => expectAnswer(socket, request);

/** The cases where the reference answered nothing or dropped the connection, and what we do instead. */
const DEVIATIONS: Record<string, { title: string; check: Check }> = {
  'falsy-request-empty-map': { title: 'answered (the reference never answers a falsy message)', check: answeredAsEcho },
  'falsy-request-zero': { title: 'answered (the reference never answers a falsy message)', check: answeredAsEcho },
  'falsy-request-nil': { title: 'answered (the reference never answers a falsy message)', check: answeredAsEcho },
  'two-messages-one-write': {
    title: 'both messages answered, in order (the reference answered neither)',
    check: answeredAsEcho,
  },
  'not-msgpack': {
    title: 'no answer, then closed by the incomplete-message timeout (the reference kept it open)',
    check: async (socket) => {
      expect(await socket.waitClosed(INCOMPLETE_MS + 2000)).toBe(true);
      expect((await socket.readAvailable(0)).length).toBe(0);
    },
  },
  'exactly-4096-bytes': {
    title: 'answered at once, one header widened so a Python reader sees it whole (the reference waited for more bytes)',
    check: async (socket, request) => {
      const widened = widenForPythonReader(request);
      expect(widened.length % 4096).not.toBe(0);
      await expectAnswer(socket, widened);
    },
  },
  'handler-crash': {
    title: 'answered Internal server error, connection kept (the reference closed it unanswered)',
    check: async (socket, request) => {
      const internal = encoder.encode('arrpc.error.RpcException: Internal server error');
      await expectAnswer(socket, internal);
      await socket.write(request);
      await expectAnswer(socket, internal);
    },
  },
  'signed-envelope-data-as-str': {
    title: 'answered AuthException, connection kept (the reference dropped it)',
    check: async (socket, request) => {
      const auth = encoder.encode(
        "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct",
      );
      await expectAnswer(socket, auth);
      await socket.write(request);
      await expectAnswer(socket, auth);
    },
  },
};

function requestHex(vector: VectorCase): string {
  return vector.raw_request_hex ?? vector.wire.find((turn) => turn.direction === 'request')!.hex;
}

function responseTurn(vector: VectorCase) {
  return vector.wire.find((turn) => turn.direction === 'response');
}

/** True when the reference left the request unanswered or dropped the connection. */
function referenceFailed(vector: VectorCase): boolean {
  return responseTurn(vector) === undefined || vector.response_hex === null || vector.server_closed_connection;
}

describeVectors('ArrpcServer answers Python clients as the reference did (vectors.json)', (vectors) => {
  const servers = new Map<string | null, TestServer>();
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    for (const secret of new Set(vectors.cases.map((vector) => vector.server_auth_secret))) {
      servers.set(secret, await startServer([ReplayController], {
        authSecret: secret ?? undefined,
        incompleteMessageTimeoutMs: INCOMPLETE_MS,
      }));
    }
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers.values()) await server.close();
  });

  async function send(vector: VectorCase): Promise<{ socket: RawSocket; request: Buffer }> {
    const socket = await connectRaw(servers.get(vector.server_auth_secret)!.port);
    sockets.push(socket);
    const request = Buffer.from(requestHex(vector), 'hex');
    await socket.write(request);
    return { socket, request };
  }

  it('has a documented behaviour for every case the reference left unanswered', () => {
    const failed = vectors.cases.filter(referenceFailed).map((vector) => vector.name);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((name) => !(name in DEVIATIONS))).toEqual([]);
  });

  for (const vector of vectors.cases) {
    const deviation = DEVIATIONS[vector.name];
    const response = responseTurn(vector);
    if (deviation !== undefined) {
      it(`${vector.name}: ${deviation.title}`, async () => {
        const { socket, request } = await send(vector);
        await deviation.check(socket, request, vector);
      });
    } else if (response?.decoded !== undefined && holdsWholeFloat(response.decoded)) {
      it(`${vector.name}: answers the same value; a whole-valued float comes back as an int (known codec deviation)`, async () => {
        const peer = await TestPeer.connect(servers.get(vector.server_auth_secret)!.port);
        sockets.push(peer.raw);
        await peer.writeRaw(requestHex(vector));
        expect(await peer.next()).toEqual(fromTagged(response.decoded));
      });
    } else {
      it(`${vector.name}: answers the captured bytes`, async () => {
        const { socket } = await send(vector);
        await expectAnswer(socket, Buffer.from(response!.hex, 'hex'));
      });
    }
  }
});
