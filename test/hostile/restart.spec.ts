// Servers closed and restarted under load, on the same ports: a plain, a signed and a TLS
// ArrpcServer, eight ArrpcClients on each (the soak's mix, retryBaseMs 10), driven by closed-loop
// workers. Twice: first each server drains and closes, stays down a moment, and comes back; then
// a rolling restart, the new server listening on the port while the old one still drains. No
// answer may reach another request; no request may run twice (the handlers count runs per id; no
// idempotentPatterns); a request the client failed as never run (UnavailableException,
// ConnectException) must not have run; only those two and ConnectionLostException may end
// requests around a restart; every client is answered again soon after, and from then on every
// request it makes succeeds.
import type { Server as NetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrpcClient, ConnectException, ConnectionLostException, UnavailableException } from '../../lib/index.js';
import { sleep, startServer, type TestServer } from '../e2e/server/helpers.js';
import { recordEscapes } from './harness.js';
import { Ledger, Outcome, typedOutcome } from './ledger.js';
import {
  CLIENT_MIX,
  LoadController,
  SERVER_KINDS,
  clientOptionsFor,
  describeShape,
  runWorkers,
  serverOptionsFor,
  within,
  type LoadClient,
  type ServerKind,
} from './load.js';

const SEED = Number(process.env['ARRPC_SOAK_SEED'] ?? 20240808);
/** Load before the first restart, and after each. */
const PHASE_MS = 1500;
/** A closing server's `drainTimeoutMs`: Python-peer clients sending plain messages are served until then. */
const DRAIN_MS = 500;
/** How long the servers stay down after their drain, in the first restart. */
const DOWN_MS = 300;
/**
 * Once the new server listens and the old one has closed, every client must have been answered
 * again within this (whatever back-off or readmission probe it was in); from its first answer on,
 * every request it makes must succeed.
 */
const RECOVERY_LIMIT_MS = 10_000;
const MAX_REQUESTS = 200_000;
const SETTLE_MS = 15_000;
const CALL_TIMEOUT_MS = 10_000;

const escapes = recordEscapes();
const ledger = new Ledger(MAX_REQUESTS);
/** The server of each kind that serves now; replaced at each restart. */
const current = new Map<ServerKind, TestServer>();
const ports = new Map<ServerKind, number>();
/** Every server started, for afterAll (close() is idempotent). */
const started: TestServer[] = [];
const loads: LoadClient[] = [];
let stopped = false;

/** One restart as it happened, in ledger time (ms). */
interface Restart {
  readonly name: string;
  /** When the old servers began to close. */
  readonly closeAt: number;
  /** When the new servers listened and the old ones had closed, whichever came last. */
  readonly upAt: number;
}

async function startKind(kind: ServerKind): Promise<TestServer> {
  const server = await startServer([LoadController], { ...serverOptionsFor(kind), drainTimeoutMs: DRAIN_MS, port: ports.get(kind) ?? 0 });
  started.push(server);
  current.set(kind, server);
  ports.set(kind, server.port);
  return server;
}

beforeAll(async () => {
  for (const kind of SERVER_KINDS) await startKind(kind);
  for (const kind of SERVER_KINDS) {
    for (const shape of CLIENT_MIX) {
      const client = new ArrpcClient({
        port: ports.get(kind)!,
        timeout: CALL_TIMEOUT_MS,
        retryBaseMs: 10,
        ...clientOptionsFor(kind),
        ...(shape.peer ? { peer: shape.peer, pipeline: shape.pipeline } : {}),
        poolSize: shape.poolSize,
      });
      loads.push({ index: loads.length + 1, client, workers: shape.workers, label: `${kind} ${describeShape(shape)}`, rawOnly: shape.rawOnly });
    }
  }
  await Promise.all(loads.map((load) => load.client.connect()));
});

afterAll(async () => {
  stopped = true;
  await Promise.allSettled(loads.map((load) => load.client.close()));
  await Promise.allSettled(started.map((server) => server.close()));
});

/** Closes every server (drain) and waits; `DOWN_MS` later starts new ones on the same ports. */
async function stopThenStart(): Promise<Restart> {
  const closeAt = ledger.now();
  await Promise.all([...current.values()].map((server) => server.close()));
  await sleep(DOWN_MS);
  await Promise.all(SERVER_KINDS.map(startKind));
  return { name: `drain, ${DOWN_MS} ms down, start`, closeAt, upAt: ledger.now() };
}

/** Starts new servers on the ports as soon as the old ones stop listening, while they drain. */
async function rollingRestart(): Promise<Restart> {
  const closeAt = ledger.now();
  const old = [...current.values()];
  const closing = Promise.all(old.map((server) => server.close()));
  await expect.poll(() => old.every((server) => !server.server.unwrap<NetServer>().listening), { timeout: 2000, interval: 5 }).toBe(true);
  await Promise.all(SERVER_KINDS.map(startKind));
  await closing;
  return { name: 'rolling (new server up while the old drains)', closeAt, upAt: ledger.now() };
}

describe('servers closed and restarted under load, on the same ports', () => {
  it('answers no request with another’s answer, runs none twice, and serves everything again after', async () => {
    const restarts: Restart[] = [];
    const script = (async () => {
      await sleep(PHASE_MS);
      for (const restart of [stopThenStart, rollingRestart]) {
        restarts.push(await restart());
        await expect.poll(() => unrecovered(restarts.at(-1)!), { timeout: RECOVERY_LIMIT_MS, interval: 50 }).toEqual([]);
        await sleep(PHASE_MS);
      }
    })().finally(() => (stopped = true));
    const run = runWorkers(loads, ledger, SEED, { faultShare: 0 }, () => stopped || ledger.full);
    await script;
    const finished = await within(run, SETTLE_MS);
    const elapsed = ledger.now() / 1000;

    const all = ledger.tally();
    console.log(`[restart] ${ledger.issued} requests in ${elapsed.toFixed(1)} s (${Math.round(ledger.issued / elapsed)}/s); seed ${SEED}`);
    console.log(`[restart] outcomes: ${JSON.stringify(ledger.named(all))}`);
    for (const restart of restarts) {
      console.log(
        `[restart] ${restart.name}: ${Math.round(restart.upAt - restart.closeAt)} ms from close() to the new server up and the old closed; ` +
          `until every client was answered again, ${Math.round(slowestRecovery(restart))} ms later: ${JSON.stringify(ledger.named(windowTally(restart)))}`,
      );
    }

    // Exactly once, own answers only.
    expect(finished).toBe(true);
    expect(all.get(Outcome.Pending) ?? 0).toBe(0);
    expect(ledger.duplicates).toBe(0);
    expect(ledger.notes).toEqual([]);
    expect([...all.values()].reduce((sum, count) => sum + count, 0)).toBe(ledger.issued);
    // Around a restart, only the three typed errors of a restart; away from one, only success.
    const windowed = new Set<number>([typedOutcome(UnavailableException), typedOutcome(ConnectionLostException), typedOutcome(ConnectException)]);
    const strict = strictIds(restarts);
    const unexpected: string[] = [];
    for (let id = 1; id <= ledger.issued && unexpected.length < 20; id++) {
      if (succeeded(id)) continue;
      if (strict.has(id) || !windowed.has(ledger.outcome[id]!)) unexpected.push(describeId(id, restarts));
    }
    console.log(`[restart] ${strict.size} requests had to succeed: before the first restart, or issued by a client answered again since the last`);
    expect(unexpected).toEqual([]);
    expectExecutions();
    expect(escapes).toEqual([]);
  }, 60_000);
});

function succeeded(id: number): boolean {
  const outcome = ledger.outcome[id]!;
  return outcome === Outcome.Answered || outcome === Outcome.Refused;
}

/** When each client was first answered after the restart: the end of its first success issued after `upAt`. */
function recoveredAt(restart: Restart): Map<number, number> {
  const first = new Map<number, number>();
  for (let id = 1; id <= ledger.issued; id++) {
    if (ledger.issuedAt[id]! < restart.upAt || !succeeded(id)) continue;
    const client = ledger.client[id]!;
    first.set(client, Math.min(first.get(client) ?? Infinity, ledger.settledAt[id]!));
  }
  return first;
}

/** The clients not answered again yet after the restart. */
function unrecovered(restart: Restart): string[] {
  const recovered = recoveredAt(restart);
  return loads.filter((load) => !recovered.has(load.index)).map((load) => load.label);
}

/** The longest time, over the clients, from `upAt` to being answered again. */
function slowestRecovery(restart: Restart): number {
  const recovered = recoveredAt(restart);
  return recovered.size < loads.length ? Infinity : Math.max(...[...recovered.values()].map((at) => at - restart.upAt));
}

/**
 * The requests that must have succeeded: those that ended before the first restart, and those a
 * client issued once it had been answered again after a restart and that ended before the next.
 */
function strictIds(restarts: readonly Restart[]): Set<number> {
  const ids = new Set<number>();
  const recovered = restarts.map(recoveredAt);
  for (let id = 1; id <= ledger.issued; id++) {
    const issued = ledger.issuedAt[id]!;
    const settled = ledger.settledAt[id]!;
    const client = ledger.client[id]!;
    if (settled < restarts[0]!.closeAt) ids.add(id);
    else if (restarts.some((_, i) => issued >= (recovered[i]!.get(client) ?? Infinity) && settled < (restarts[i + 1]?.closeAt ?? Infinity))) ids.add(id);
  }
  return ids;
}

/** The outcomes of requests that ended between a restart's close and the last client's recovery. */
function windowTally(restart: Restart): Map<number, number> {
  const until = restart.upAt + slowestRecovery(restart);
  const counts = new Map<number, number>();
  for (let id = 1; id <= ledger.issued; id++) {
    const settled = ledger.settledAt[id]!;
    if (settled < restart.closeAt || settled > until) continue;
    counts.set(ledger.outcome[id]!, (counts.get(ledger.outcome[id]!) ?? 0) + 1);
  }
  return counts;
}

/**
 * The handlers' own count per id: at most once for every request; exactly once for one answered
 * (or refused by its handler); never for one the client failed as not run (UnavailableException:
 * the draining server refused it; ConnectException: it was never written).
 */
function expectExecutions(): void {
  const executions = ledger.executions;
  const neverRan = new Set<number>([typedOutcome(UnavailableException), typedOutcome(ConnectException)]);
  const mismatches: string[] = [];
  const ranAfterLost = { ran: 0, lost: 0 };
  for (let id = 1; id <= ledger.issued && mismatches.length < 20; id++) {
    const ran = executions[id]!;
    const outcome = ledger.outcome[id]!;
    const exact = outcome === Outcome.Answered || outcome === Outcome.Refused;
    if (ran > 1 || (exact && ran !== 1) || (neverRan.has(outcome) && ran !== 0)) mismatches.push(`id ${id}: ran ${ran} times, ${ledger.named(new Map([[outcome, 1]]))}`);
    if (outcome === typedOutcome(ConnectionLostException)) {
      ranAfterLost.lost++;
      ranAfterLost.ran += ran;
    }
  }
  console.log(`[restart] ConnectionLostException: ${ranAfterLost.lost} requests, of which ${ranAfterLost.ran} had run on the server`);
  expect(mismatches).toEqual([]);
}

function describeId(id: number, restarts: readonly Restart[]): string {
  const load = loads[ledger.client[id]! - 1]!;
  const at = (ms: number): string => `${Math.round(ms)} ms`;
  return (
    `id ${id} (${load.label}, route ${ledger.route[id]}, mode ${ledger.mode[id]}): ${JSON.stringify(ledger.named(new Map([[ledger.outcome[id]!, 1]])))}, ` +
    `issued ${at(ledger.issuedAt[id]!)}, ended ${at(ledger.settledAt[id]!)}; restarts (close, up) ${restarts.map((r) => `${at(r.closeAt)}, ${at(r.upAt)}`).join('; ')}`
  );
}
