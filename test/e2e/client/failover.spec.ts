// Failover across 3 replicas on 127.0.0.11, 127.0.0.12 and 127.0.0.13: one killed mid-load
// (SIGKILL of a child process running an ArrpcServer, test/support/replica-server.mjs), then
// restarted and readmitted; one closed gracefully mid-load (the drain rule of PROTOCOL.md part 2).
import { join } from 'node:path';
import { Registry, type Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrpcStatus, ConnectionLostException, type ArrpcClientOptions, type ArrpcEndpointDownReason } from '../../../lib/index.js';
import { buildSampleAndCli } from '../../support/build.js';
import { killAll, NodeProcess } from '../../support/processes.js';
import { REPO_ROOT } from '../../support/vectors.js';
import { clientFactory, useCleanup } from './helpers.js';
import { countAnswers, runLoad, startReplica, type LoadResult } from './replicas.js';

const REPLICA_SCRIPT = join(REPO_ROOT, 'test', 'support', 'replica-server.mjs');
// Loopback addresses no other test file binds: the killed replica's port is still free when it restarts.
const HOSTS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
/** Requests in flight at most on one endpoint: poolSize × pipeline. */
const PER_ENDPOINT = 2 * 4;
const PROBE_BACKOFF_MAX_MS = 400;

const track = useCleanup();
const newClient = clientFactory(track);

// dist/lib, which the child script imports, built as the sample's tests build it.
beforeAll(() => buildSampleAndCli(), 120_000);
afterAll(() => killAll());

/** A replica in a child process. */
interface ChildReplica {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly process: NodeProcess;
}

async function startChild(host: string, port = 0): Promise<ChildReplica> {
  const child = new NodeProcess([REPLICA_SCRIPT], { REPLICA_NAME: host, REPLICA_HOST: host, REPLICA_PORT: String(port) });
  track({ close: () => child.stop('SIGKILL') });
  const match = await child.waitForLine(/^\{.*"port":(\d+)\}$/);
  const picked = Number(match[1]);
  return { name: host, host, port: picked, address: `${host}:${picked}`, process: child };
}

function clientOptions(endpoints: string[], extra: ArrpcClientOptions = {}): ArrpcClientOptions {
  return {
    endpoints, peer: 'nestjs-arrpc', pipeline: 4, poolSize: 2, timeout: 5_000, conMaxRetries: 2, retryBaseMs: 20,
    ejectionBackoffMs: 100, ejectionBackoffMaxMs: PROBE_BACKOFF_MAX_MS, ...extra,
  };
}

const failures = (results: readonly LoadResult[]) => results.filter((result) => result.error !== undefined);

describe('a server killed mid-load (SIGKILL)', () => {
  it.each([
    ['with idempotentPatterns: true, every request succeeds', true],
    ['without, only requests in flight on the killed server fail, with ConnectionLostException', false],
  ])('%s; restarted, it is readmitted and gets traffic again', async (_name, idempotent) => {
    const children = await Promise.all(HOSTS.map((host) => startChild(host)));
    const victim = children[2]!;
    const client = newClient(clientOptions(children.map((child) => child.address), idempotent ? { idempotentPatterns: true } : {}));
    const downs: [string, ArrpcEndpointDownReason][] = [];
    const ups: [string, string, number][] = [];
    client.on('endpoint-down', (endpoint, reason) => downs.push([endpoint, reason]));
    client.on('endpoint-up', (endpoint, reason) => ups.push([endpoint, reason, performance.now()]));
    const statuses: string[] = [];
    client.status.subscribe((status) => statuses.push(status));

    let killedAt = 0;
    const started = performance.now();
    const results = await runLoad(1_500, 32, (seq) => client.call('work', { ms: 5, seq }), (done) => {
      if (done === 300) {
        killedAt = performance.now();
        victim.process.child.kill('SIGKILL');
      }
    });
    // No request hung: all 1,500 settled (about 1 s unloaded), none by its 5 s timeout (checked below).
    expect(results).toHaveLength(1_500);
    expect(killedAt).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(10_000);
    const failed = failures(results);
    if (idempotent) {
      expect(failed).toEqual([]);
    } else {
      // 32 in flight over 3 endpoints of 8 slots each: the victim's slots were full when it died.
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThanOrEqual(PER_ENDPOINT);
      for (const { error } of failed) {
        expect(error).toBeInstanceOf(ConnectionLostException);
        expect(error).toMatchObject({ endpoint: victim.address, pattern: 'work' });
      }
    }
    expect(countAnswers(results).get(victim.name)).toBeGreaterThan(0);
    expect(downs).toEqual([[victim.address, 'ejected']]);
    // Two healthy endpoints all along: the client stayed connected.
    expect(statuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Connected]);

    const restarted = await startChild(victim.host, victim.port);
    const restartedAt = performance.now();
    await expect.poll(() => ups.some(([endpoint, reason]) => endpoint === victim.address && reason === 'readmitted'), { timeout: 3_000 }).toBe(true);
    const readmittedAt = ups.find(([, reason]) => reason === 'readmitted')![2];
    // Listening again: readmitted by the next probe, within the back-off (its cap by now), plus slack.
    expect(readmittedAt - restartedAt).toBeLessThan(PROBE_BACKOFF_MAX_MS + 600);
    const after = await runLoad(300, 32, (seq) => client.call('work', { ms: 5, seq }));
    expect(failures(after)).toEqual([]);
    // Its share depends on how fast a freshly started process answers (p2c weighs load); that it gets traffic is the point.
    expect(countAnswers(after).get(restarted.name)).toBeGreaterThan(0);
  });
});

describe('a server closed gracefully mid-load (drain)', () => {
  it.each([
    ['with idempotentPatterns', true],
    ['without idempotentPatterns', false],
  ])('%s, no request fails', async (_name, idempotent) => {
    const replicas = await Promise.all(HOSTS.map((host) => startReplica(host, host)));
    track({ close: () => Promise.all(replicas.map((replica) => replica.close())) });
    const draining = replicas[1]!;
    const registry = new Registry();
    const client = newClient(
      clientOptions(replicas.map((replica) => replica.address), { metrics: true, registry, ...(idempotent ? { idempotentPatterns: ['work'] } : {}) }),
    );
    const downs: [string, ArrpcEndpointDownReason][] = [];
    client.on('endpoint-down', (endpoint, reason) => downs.push([endpoint, reason]));
    let closing: Promise<void> | undefined;
    const results = await runLoad(1_500, 32, (seq) => client.call('work', { ms: 5, seq }), (done) => {
      if (done === 300) closing = draining.close();
    });
    await closing;
    expect(failures(results)).toEqual([]);
    // Requests it had received before close() began were answered; none came after.
    expect(countAnswers(results).get(draining.name)).toBe(draining.seen.length);
    expect(draining.seen.length).toBeGreaterThan(0);
    expect(downs).toEqual([[draining.address, 'draining']]);
    // Requests answered UnavailableException went elsewhere, counted as retries of the draining server.
    const retries = await (registry.getSingleMetric('arrpc_client_retries_total') as Counter).get();
    const moved = retries.values.filter(({ labels }) => labels['reason'] === 'unavailable');
    expect(moved.map(({ labels }) => labels['remote_address'])).toEqual([draining.address]);
    expect(moved[0]!.value).toBeGreaterThan(0);
  });
});
