// Runs every scenario of the benchmark issue: the load generator pinned to CPU 1, each server to
// CPU 0 (with several servers, spread over every other CPU there is: all on CPU 0 on a 2-CPU
// machine), a warm-up, then a fixed window. Prints a Markdown table for BENCHMARKS.md and the
// ratios the targets are stated in. Usage: node run.mjs [--duration 5] [--only name,name]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, warmup: { type: 'string', default: '2' }, only: { type: 'string' } },
});
const CLOCK_TICKS_PER_SECOND = 100;
const LOAD_CPU = 1;
/** CPUs servers are pinned to, in turn: every one but the load generator's. */
const SERVER_CPUS = Array.from({ length: availableParallelism() }, (_, cpu) => cpu).filter((cpu) => cpu !== LOAD_CPU);
const here = new URL('.', import.meta.url).pathname;
const certs = makeCertificate();
const selected = args.only ? SCENARIOS.filter((s) => args.only.split(',').includes(s.name)) : SCENARIOS;

const results = [];
for (const scenario of selected) {
  const servers = await Promise.all(Array.from({ length: scenario.servers ?? 1 }, (_, i) => startServer(scenario, SERVER_CPUS[i % SERVER_CPUS.length])));
  try {
    const serversCpu = () => servers.reduce((sum, server) => sum + serverCpuSeconds(server.pid), 0);
    const cpuBefore = serversCpu();
    const load = runLoad(scenario, servers.map((server) => server.port));
    const cpuSeconds = serversCpu() - cpuBefore;
    // The window includes the warm-up: scale CPU to the measured share of it.
    const measuredShare = Number(args.duration) / (Number(args.duration) + Number(args.warmup));
    const perRequestUs = (cpuSeconds * measuredShare * 1e6) / Math.max(load.answered, 1);
    results.push({ ...scenario, ...load, serverCpuUs: perRequestUs });
    console.error(`${scenario.name}: ${load.requestsPerSecond} req/s, p99 ${load.p99ms.toFixed(2)} ms`);
  } finally {
    for (const server of servers) server.process.kill('SIGKILL');
  }
}
printTable(results);

function startServer(scenario, cpu = 0) {
  const env = { ...process.env, ...scenario.env, BENCH_TLS_CERT: scenario.tls ? certs.cert : '', BENCH_TLS_KEY: certs.key };
  const child = spawn('taskset', ['-c', String(cpu), 'node', join(here, scenario.server)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${scenario.server} exited with ${code}`)));
    child.stdout.once('data', (line) => resolve({ process: child, pid: child.pid, port: JSON.parse(String(line)).port }));
  });
}

function runLoad(scenario, ports) {
  if (scenario.load === 'client-load.mjs') return runClientLoad(scenario, ports);
  const [port] = ports;
  const loadArgs = [
    join(here, 'load.mjs'), '--target', `127.0.0.1:${port}`, '--connections', String(scenario.connections ?? 64),
    '--pipeline', String(scenario.pipeline ?? 1), '--message', scenario.message, '--duration', args.duration, '--warmup', args.warmup,
    ...(scenario.env?.BENCH_SECRET ? ['--secret', scenario.env.BENCH_SECRET] : []),
    ...(scenario.tls ? ['--tls'] : []),
  ];
  return JSON.parse(execFileSync('taskset', ['-c', String(LOAD_CPU), 'node', ...loadArgs], { encoding: 'utf8' }));
}

/** Load through one ArrpcClient spread over every server of the scenario (client-load.mjs). */
function runClientLoad(scenario, ports) {
  const loadArgs = [
    join(here, 'client-load.mjs'), '--targets', ports.map((port) => `127.0.0.1:${port}`).join(','),
    '--concurrency', String(scenario.connections ?? 64), '--pool-size', String(scenario.poolSize ?? 8),
    '--pipeline', String(scenario.pipeline ?? 4), '--message', scenario.message, '--duration', args.duration, '--warmup', args.warmup,
  ];
  return JSON.parse(execFileSync('taskset', ['-c', String(LOAD_CPU), 'node', ...loadArgs], { encoding: 'utf8' }));
}

/** utime + stime of a process, from /proc (Linux). */
function serverCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'arrpc-bench-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

function printTable(rows) {
  const ceilingOf = (row) => rows.find((r) => r.name === row.ceiling);
  console.log(`Node ${process.version}, ${args.duration} s windows, server on CPU 0, load on CPU 1\n`);
  console.log('| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | vs ceiling | errors | load-bound |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const ceiling = ceilingOf(row);
    const ratio = ceiling ? (row.requestsPerSecond / ceiling.requestsPerSecond).toFixed(2) + 'x' : '';
    console.log(
      `| ${row.label} | ${row.requestsPerSecond} | ${row.p50ms.toFixed(2)} | ${row.p99ms.toFixed(2)} | ${row.serverCpuUs.toFixed(1)} | ${ratio} | ${row.errors} | ${row.loadGeneratorBound ? 'yes' : 'no'} |`,
    );
  }
}
