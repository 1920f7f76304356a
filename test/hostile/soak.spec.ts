// A bounded soak: a plain, a signed and a TLS ArrpcServer, eight ArrpcClients on each (pipelined
// Nest peers with pools, and default Python-peer clients), driven by closed-loop workers with seeded
// random requests: the raw default pattern, a named and an object pattern, events; payloads up to
// 1 MiB; handlers that echo, wait or throw; a few requests that outlast their caller's timeout and
// a few their caller cancels. Every request must end exactly once with its own answer or a typed
// error, the counts must add up, the handlers must have run each request at most once, nothing may
// escape to the process, and memory after a GC must come back within the bounds below.
// ARRPC_SOAK_SECONDS (default 30) sets the length of the load, ARRPC_SOAK_SEED the seed.
import type { Server as NetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrpcClient, ConnectionLostException, type ConnectionPool } from '../../lib/index.js';
import { TestPeer, startServer, type TestServer } from '../e2e/server/helpers.js';
import { HostileController, mib, recordEscapes, reportMemory, sampleMemory, type MemorySample } from './harness.js';
import { Ledger, Mode, Outcome, Route, typedOutcome } from './ledger.js';
import {
  CLIENT_MIX,
  LoadController,
  MAX_BLOB_BYTES,
  SERVER_KINDS,
  clientOptionsFor,
  connectionsOf,
  describeShape,
  runWorkers,
  sendPlanned,
  serverOptionsFor,
  within,
  type LoadClient,
  type ServerKind,
} from './load.js';

const SECONDS = Number(process.env['ARRPC_SOAK_SECONDS'] ?? 30);
const SEED = Number(process.env['ARRPC_SOAK_SEED'] ?? 20240808);
/** Load before the first memory sample: JIT, TLS sessions, socket and pool buffers settle. */
const WARM_UP_MS = 1000;
/** Requests at most (the workers stop issuing there), so the loops are bounded in count too: 12,000/s, 3 to 5 times what 2 cores do. */
const MAX_REQUESTS = Math.ceil(12_000 * (SECONDS + WARM_UP_MS / 1000));
/** After the load stops, every request must have ended within this. */
const SETTLE_MS = 15_000;
/** The clients' timeout: no request may wait for ever, yet none is expected to reach it. */
const CALL_TIMEOUT_MS = 10_000;
/**
 * Share of requests (events aside) that are doomed (a 250 ms handler under a 40 ms call timeout),
 * and as many again that their caller cancels (an AbortSignal, or an unsubscribe) 2 to 40 ms in.
 */
const FAULT_SHARE = 0.003;
/**
 * Memory bounds. `heapUsed + arrayBuffers` after a full GC is sampled twice before the load and
 * twice after it: with every client closed and the servers holding no connection (what is left
 * then is a leak; about 1 to 4 MiB of compiled code was seen), and with the clients' connections
 * open and primed (below). The ledger is allocated before any sample. RSS, which rarely shrinks,
 * is compared between the open samples; 1 MiB messages through TLS leave freed pages mapped, and
 * 0 to +97 MiB was seen, so its bound is loose.
 */
const CLOSED_BOUND_BYTES = 8 * 1024 * 1024;
const OPEN_BOUND_BYTES = 24 * 1024 * 1024;
const RSS_BOUND_BYTES = 192 * 1024 * 1024;

/** What 24 idle connections may hold after a 1 MiB answer each: far less than one such answer each. */
const IDLE_BOUND_BYTES = 8 * 1024 * 1024;

const escapes = recordEscapes();
const ledger = new Ledger(MAX_REQUESTS);
const servers = new Map<ServerKind, TestServer>();
const loads: (LoadClient & { readonly kind: ServerKind; readonly pipeline: number; readonly room: number })[] = [];
let stopped = false;

beforeAll(async () => {
  for (const kind of SERVER_KINDS) {
    servers.set(kind, await startServer([LoadController], { ...serverOptionsFor(kind), drainTimeoutMs: 2000 }));
  }
  for (const kind of SERVER_KINDS) {
    for (const shape of CLIENT_MIX) {
      const client = new ArrpcClient({
        port: servers.get(kind)!.port,
        timeout: CALL_TIMEOUT_MS,
        retryBaseMs: 10,
        ...clientOptionsFor(kind),
        ...(shape.peer ? { peer: shape.peer, pipeline: shape.pipeline } : {}),
        poolSize: shape.poolSize,
      });
      const pipeline = shape.pipeline ?? 1;
      const room = pipeline * connectionsOf(shape);
      loads.push({ index: loads.length + 1, client, workers: shape.workers, label: `${kind} ${describeShape(shape)}`, rawOnly: shape.rawOnly, kind, pipeline, room });
    }
  }
  await Promise.all(loads.map((load) => load.client.connect()));
});

afterAll(async () => {
  stopped = true;
  await Promise.allSettled(loads.map((load) => load.client.close()));
  await Promise.allSettled([...servers.values()].map((server) => server.close()));
});

describe('memory an idle connection keeps', () => {
  // Found by this soak: each connection's encoder kept a scratch buffer the size of its largest
  // answer (2 MiB after a 1 MiB answer) for as long as the connection lived.
  it('is not the size of the largest answer it was once given', async () => {
    const PEERS = 24;
    const server = await startServer([HostileController]);
    const peers: TestPeer[] = [];
    try {
      for (let i = 0; i < PEERS; i++) peers.push(await TestPeer.connect(server.port));
      for (const peer of peers) expect(await peer.request('echo', 'warm')).toBe('warm');
      const before = await sampleMemory();
      for (const peer of peers) {
        expect(((await peer.request('big', MAX_BLOB_BYTES)) as Uint8Array).length).toBe(MAX_BLOB_BYTES);
        await peer.raw.readAvailable(0); // the raw socket's own copy of what it read: not the server's
      }
      const growth = reportMemory(`${PEERS} idle connections after one 1 MiB answer each (bound +${mib(IDLE_BOUND_BYTES)})`, before, await sampleMemory());
      expect(growth).toBeLessThan(IDLE_BOUND_BYTES);
      for (const peer of peers) expect(await peer.request('echo', 'still served')).toBe('still served');
    } finally {
      for (const peer of peers) peer.destroy();
      await server.close();
    }
  });
});

describe(`a ${SECONDS} s soak: 3 servers (plain, signed, TLS), ${SERVER_KINDS.length * CLIENT_MIX.length} clients, seed ${SEED}`, () => {
  it('ends every request exactly once with its own answer or a typed error; handlers run at most once; memory returns', async () => {
    const settings = { faultShare: FAULT_SHARE };
    const warmUpEnd = ledger.now() + WARM_UP_MS;
    expect(await within(runWorkers(loads, ledger, SEED, settings, () => stopped || ledger.now() > warmUpEnd), SETTLE_MS)).toBe(true);
    const closedBefore = await sampleClosed();
    await Promise.all(loads.map((load) => load.client.connect()));
    await primeConnections();
    const openBefore = await sampleMemory();
    const warmUpIds = ledger.issued;

    const start = ledger.now();
    const end = start + SECONDS * 1000;
    const finished = await within(
      runWorkers(loads, ledger, SEED + 1, settings, () => stopped || ledger.now() > end),
      SECONDS * 1000 + SETTLE_MS,
    );
    const elapsed = (ledger.now() - start) / 1000;
    const loadIds = ledger.issued;
    await primeConnections(); // again: connections replaced during the load start with small buffers
    const openAfter = await sampleMemory();
    const connections = openConnections();
    const closedAfter = await sampleClosed();

    const requests = loadIds - warmUpIds;
    console.log(
      `[soak] ${requests} requests in ${elapsed.toFixed(1)} s (${Math.round(requests / elapsed)}/s), after ${warmUpIds} of warm-up and priming; ` +
        `${mib(ledger.bytesSent)} of payload sent in all, ${ledger.largeSent} payloads of 64 KiB to 1 MiB; seed ${SEED}` +
        (ledger.full ? `; stopped by the count bound (${MAX_REQUESTS})` : ''),
    );
    printOutcomes(warmUpIds + 1, loadIds);
    const openGrowth = reportMemory(`${SECONDS} s soak, ${connections} client connections open (bound +${mib(OPEN_BOUND_BYTES)}, rss +${mib(RSS_BOUND_BYTES)})`, openBefore, openAfter);
    const closedGrowth = reportMemory(`${SECONDS} s soak, every client closed (bound +${mib(CLOSED_BOUND_BYTES)})`, closedBefore, closedAfter);

    // Exactly once: nothing pending, nothing settled twice, nothing answered with another's answer.
    const all = ledger.tally();
    expect(finished).toBe(true);
    expect(all.get(Outcome.Pending) ?? 0).toBe(0);
    expect(ledger.duplicates).toBe(0);
    expect(ledger.notes).toEqual([]);
    expect([...all.values()].reduce((sum, count) => sum + count, 0)).toBe(ledger.issued);
    // Every outcome is one its request asked for, but for the neighbours of doomed and cancelled requests.
    const allowed = new Set<number>([Outcome.Answered, Outcome.Refused, Outcome.TimedOut, Outcome.Cancelled, typedOutcome(ConnectionLostException)]);
    expect(ledger.named(new Map([...all].filter(([code]) => !allowed.has(code))))).toEqual({});
    expectLostOnlyBesideFaults();
    expectExecutionsMatch();

    expect(openGrowth).toBeLessThan(OPEN_BOUND_BYTES);
    expect(openAfter.rss - openBefore.rss).toBeLessThan(RSS_BOUND_BYTES);
    expect(closedGrowth).toBeLessThan(CLOSED_BOUND_BYTES);
    expect(escapes).toEqual([]);
  }, (SECONDS + WARM_UP_MS / 1000) * 1000 + 3 * SETTLE_MS);
});

/** Closes every client, waits until the servers hold no connection, then samples. */
async function sampleClosed(): Promise<MemorySample> {
  await Promise.all(loads.map((load) => load.client.close()));
  await expect.poll(serverConnections, { timeout: 5000 }).toBe(0);
  return sampleMemory();
}

async function serverConnections(): Promise<number> {
  const counts = await Promise.all(
    [...servers.values()].map(
      (server) => new Promise<number>((resolve, reject) => server.server.unwrap<NetServer>().getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

function openConnections(): number {
  return loads.reduce((sum, load) => sum + load.client.unwrap<ConnectionPool>().sockets.length, 0);
}

/**
 * Makes every client connection write one 1 MiB request, one client per server at a time: as many
 * at once as a client has room for (`poolSize × pipeline`), so its pool opens every connection and each takes
 * one. A client connection keeps an encoder scratch buffer the size of the largest message it
 * wrote (a client issue, reported; the server's was fixed, see the test above): primed, that
 * memory is in both open samples instead of growing between them.
 */
async function primeConnections(): Promise<void> {
  // Answered with its size only: the 1 MiB goes one way.
  const plan = { route: Route.Named, mode: Mode.Wait, size: MAX_BLOB_BYTES, ms: 0, observable: false } as const;
  const prime = (load: (typeof loads)[number]): Promise<unknown> =>
    Promise.all(Array.from({ length: load.room }, () => sendPlanned(load.client, ledger, ledger.issue(load.index, plan), plan)));
  await Promise.all(
    SERVER_KINDS.map(async (kind) => {
      for (const load of loads.filter((candidate) => candidate.kind === kind)) await prime(load);
    }),
  );
}

/**
 * A doomed request's timeout, or a cancellation, closes its connection once the request was
 * written (answers carry no id), failing the others in flight on it with ConnectionLostException:
 * at most `pipeline - 1` of them per such request, and none on a client without pipelining.
 */
function expectLostOnlyBesideFaults(): void {
  const lost = typedOutcome(ConnectionLostException);
  const perClient = new Map<number, { lost: number; faults: number }>();
  for (let id = 1; id <= ledger.issued; id++) {
    const counts = perClient.get(ledger.client[id]!) ?? { lost: 0, faults: 0 };
    const outcome = ledger.outcome[id];
    if (outcome === lost) counts.lost++;
    if (outcome === Outcome.TimedOut || outcome === Outcome.Cancelled) counts.faults++;
    perClient.set(ledger.client[id]!, counts);
  }
  const over = loads.flatMap((load) => {
    const counts = perClient.get(load.index) ?? { lost: 0, faults: 0 };
    return counts.lost > counts.faults * (load.pipeline - 1) ? [`${load.label}: ${counts.lost} lost, ${counts.faults} timed out or cancelled`] : [];
  });
  expect(over).toEqual([]);
}

/**
 * The handlers' own count per id agrees with the client side: answered (or refused by the
 * handler) means it ran exactly once; no request ran twice; a request that failed in the client
 * ran at most once.
 */
function expectExecutionsMatch(): void {
  const executions = ledger.executions;
  const mismatches: string[] = [];
  for (let id = 1; id <= ledger.issued && mismatches.length < 20; id++) {
    const ran = executions[id]!;
    const outcome = ledger.outcome[id]!;
    const exact = outcome === Outcome.Answered || outcome === Outcome.Refused;
    if (ran > 1 || (exact && ran !== 1)) mismatches.push(`id ${id}: ${ledger.named(new Map([[outcome, 1]]))}, ran ${ran} times`);
  }
  expect(mismatches).toEqual([]);
  for (let id = ledger.issued + 1; id < executions.length; id++) if (executions[id] !== 0) throw new Error(`id ${id} ran but was never issued`);
}

/** The outcomes of ids `from..to`, in all and per server kind. */
function printOutcomes(from: number, to: number): void {
  console.log(`[soak] outcomes: ${JSON.stringify(ledger.named(ledger.tally(from, to)))}`);
  for (const kind of SERVER_KINDS) {
    const indices = new Set(loads.filter((load) => load.kind === kind).map((load) => load.index));
    let events = 0;
    const outcomes = new Map<number, number>();
    for (let id = from; id <= to; id++) {
      if (!indices.has(ledger.client[id]!)) continue;
      if (ledger.route[id] === Route.Event) events++;
      outcomes.set(ledger.outcome[id]!, (outcomes.get(ledger.outcome[id]!) ?? 0) + 1);
    }
    const requests = [...outcomes.values()].reduce((sum, count) => sum + count, 0);
    console.log(`[soak] ${kind}: ${requests} requests (${events} events): ${JSON.stringify(ledger.named(outcomes))}`);
  }
}
