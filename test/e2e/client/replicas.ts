// Shared pieces of the many-servers suites: ArrpcServers on distinct loopback addresses whose
// handlers wait (await sleep) and count what reaches them, and a load loop with a bounded
// number of calls in flight.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ArrpcServerOptions } from '../../../lib/index.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { sleep } from './helpers.js';

/** What one replica saw. */
export interface ReplicaRecord {
  readonly name: string;
  /** Sequence numbers of the requests that reached the handler, in arrival order. */
  readonly seen: number[];
  inFlight: number;
  maxInFlight: number;
}

/** A running in-process replica. */
export interface Replica extends ReplicaRecord {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as the client names the endpoint. */
  readonly address: string;
  readonly server: TestServer;
  close(): Promise<void>;
}

/** The payload of a `work` request: wait `ms`, and `seq` numbers the call. */
export interface Work {
  readonly ms: number;
  readonly seq: number;
}

/** A controller class of its own per replica, so each counts what reaches it. */
function replicaController(record: ReplicaRecord) {
  @Controller()
  class ReplicaController {
    @MessagePattern('work')
    async work(@Payload() work: Work): Promise<string> {
      record.seen.push(work.seq);
      record.maxInFlight = Math.max(record.maxInFlight, ++record.inFlight);
      await sleep(work.ms);
      record.inFlight--;
      return record.name;
    }
  }
  return ReplicaController;
}

/** Starts a replica named `name` on `host` (`port` 0 picks one). */
export async function startReplica(name: string, host: string, port = 0, options: ArrpcServerOptions = {}): Promise<Replica> {
  const record: ReplicaRecord = { name, seen: [], inFlight: 0, maxInFlight: 0 };
  const server = await startServer([replicaController(record)], { host, port, ...options });
  return Object.assign(record, {
    host,
    port: server.port,
    address: `${host}:${server.port}`,
    server,
    close: () => server.close(),
  });
}

/**
 * Starts one replica on each of `hosts`, all on the same port (what a DNS name with several
 * A records on one port gives). Picks the port on the first host; tries again a few times if
 * another host has it taken.
 */
export async function startReplicasOnOnePort(hosts: readonly string[]): Promise<Replica[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const first = await startReplica(hosts[0]!, hosts[0]!);
    const started = [first];
    try {
      for (const host of hosts.slice(1)) started.push(await startReplica(host, host, first.port));
      return started;
    } catch {
      await Promise.all(started.map((replica) => replica.close()));
    }
  }
  throw new Error(`no port free on every one of ${hosts.join(', ')}`);
}

/** What one call of a load ended with. */
export interface LoadResult {
  readonly seq: number;
  readonly value?: unknown;
  readonly error?: unknown;
}

/**
 * Makes `total` calls, `concurrency` in flight at a time; `call(seq)` makes call number `seq`
 * (0, 1, ...). `onProgress(done)` runs after each outcome; no new call starts once `stop()`
 * says true. Resolves with every outcome, in call order.
 */
export async function runLoad(
  total: number,
  concurrency: number,
  call: (seq: number) => Promise<unknown>,
  onProgress?: (done: number) => void,
  stop: () => boolean = () => false,
): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < total && !stop()) {
      const seq = next++;
      try {
        results[seq] = { seq, value: await call(seq) };
      } catch (error) {
        results[seq] = { seq, error };
      }
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

/** How many answers each value (a replica's name) got. */
export function countAnswers(results: readonly LoadResult[]): Map<unknown, number> {
  const counts = new Map<unknown, number>();
  for (const { value, error } of results) if (error === undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}
