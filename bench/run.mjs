// Runs every scenario of the benchmark issue: the load generator pinned to CPU 1, each server to
// CPU 0 (with several servers, spread over every other CPU there is: all on CPU 0 on a 2-CPU
// machine), a warm-up, then a fixed window, once per round.
//
// A row whose ceiling takes the same load (same message, TLS, secret, connections) is measured
// paired with it: both servers run at once and load.mjs loads them in turn, half a second each,
// over one window, so the ratio compares them under the same conditions. On a shared machine
// whose speed drifts by half within a minute, back-to-back runs do not. Ceilings also run alone
// for their own row; other rows run alone.
//
// Prints a Markdown table for BENCHMARKS.md: medians over the rounds, and each ratio as the median
// of the per-round ratios, with their range.
// Usage: node run.mjs [--runs 3] [--duration 5] [--warmup 2] [--only name,name]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
  },
});
const CLOCK_TICKS_PER_SECOND = 100;
const LOAD_CPU = 1;
/** CPUs servers are pinned to, in turn: every one but the load generator's. */
const SERVER_CPUS = Array.from({ length: availableParallelism() }, (_, cpu) => cpu).filter((cpu) => cpu !== LOAD_CPU);
const here = new URL('.', import.meta.url).pathname;
const certs = makeCertificate();
const byName = new Map(SCENARIOS.map((scenario) => [scenario.name, scenario]));
const selected = args.only ? SCENARIOS.filter((s) => args.only.split(',').includes(s.name)) : SCENARIOS;

/** One array of per-round results by scenario name. */
const rounds = new Map(selected.map((scenario) => [scenario.name, []]));
for (let round = 1; round <= Number(args.runs); round++) {
  for (const scenario of selected) {
    const ceiling = byName.get(scenario.ceiling);
    const result = ceiling && pairable(scenario, ceiling) ? await runPaired(scenario, ceiling) : await runAlone(scenario);
    rounds.get(scenario.name).push(result);
    console.error(`round ${round}, ${scenario.name}: ${result.requestsPerSecond} req/s, p99 ${result.p99ms.toFixed(2)} ms`);
  }
}
printTable(selected, rounds);

/** Same load for both: raw generator, same message, protocol, TLS, secret and concurrency. */
function pairable(row, ceiling) {
  const load = (s) => [s.load, s.message, s.protocol, s.tls, s.env?.BENCH_SECRET, s.connections, s.pipeline, s.servers].join('|');
  return !row.load && load(row) === load(ceiling);
}

async function runAlone(scenario) {
  const servers = await Promise.all(Array.from({ length: scenario.servers ?? 1 }, (_, i) => startServer(scenario, SERVER_CPUS[i % SERVER_CPUS.length])));
  try {
    const cpuBefore = cpuSeconds(servers);
    const load = runLoad(scenario, servers.map((server) => server.port));
    return { ...load, serverCpuUs: cpuPerRequestUs(cpuSeconds(servers) - cpuBefore, load.answered) };
  } finally {
    for (const server of servers) server.process.kill('SIGKILL');
  }
}

/** The row and its ceiling loaded in turn over one window; the row's result carries the ceiling's. */
async function runPaired(row, ceiling) {
  const servers = [await startServer(row, SERVER_CPUS[0]), await startServer(ceiling, SERVER_CPUS[0])];
  try {
    const cpuBefore = servers.map((server) => cpuSeconds([server]));
    const { targets } = runLoad(row, servers.map((server) => server.port));
    const [rowLoad, ceilingLoad] = targets.map((load, i) => ({
      ...load,
      serverCpuUs: cpuPerRequestUs(cpuSeconds([servers[i]]) - cpuBefore[i], load.answered),
    }));
    return { ...rowLoad, pairedCeiling: ceilingLoad };
  } finally {
    for (const server of servers) server.process.kill('SIGKILL');
  }
}

/** The window includes the warm-up: CPU is scaled to the measured share of it. */
function cpuPerRequestUs(seconds, answered) {
  const measuredShare = Number(args.duration) / (Number(args.duration) + Number(args.warmup));
  return (seconds * measuredShare * 1e6) / Math.max(answered, 1);
}

function startServer(scenario, cpu = 0) {
  const env = { ...process.env, ...scenario.env, BENCH_TLS_CERT: scenario.tls ? certs.cert : '', BENCH_TLS_KEY: certs.key };
  const child = spawn('taskset', ['-c', String(cpu), 'node', join(here, scenario.server)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${scenario.server} exited with ${code}`)));
    child.stdout.once('data', (line) => resolve({ process: child, pid: child.pid, port: JSON.parse(String(line)).port }));
  });
}

/** Loads every port given: with two, load.mjs takes turns between them and answers per target. */
function runLoad(scenario, ports) {
  if (scenario.load === 'client-load.mjs') return runClientLoad(scenario, ports);
  const loadArgs = [
    join(here, 'load.mjs'), '--target', ports.map((port) => `127.0.0.1:${port}`).join(','),
    '--connections', String(scenario.connections ?? 64), '--pipeline', String(scenario.pipeline ?? 1),
    '--message', scenario.message, '--duration', args.duration, '--warmup', args.warmup,
    ...(scenario.env?.BENCH_SECRET ? ['--secret', scenario.env.BENCH_SECRET] : []),
    ...(scenario.tls ? ['--tls'] : []),
    ...(scenario.protocol ? ['--protocol', scenario.protocol] : []),
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

/** utime + stime of server processes, from /proc (Linux). */
function cpuSeconds(servers) {
  return servers.reduce((sum, { pid }) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }, 0);
}

function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'arrpc-bench-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

function printTable(scenarios, rounds) {
  console.log(`Node ${process.version}, ${args.runs} rounds of ${args.duration} s windows, server on CPU 0, load on CPU 1\n`);
  console.log('| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | vs ceiling (range) | CPU/req: ceiling ÷ row | errors | load-bound |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const scenario of scenarios) {
    const runs = rounds.get(scenario.name);
    const of = (field) => median(runs.map((run) => run[field]));
    const errors = runs.reduce((sum, run) => sum + run.errors, 0);
    const loadBound = runs.filter((run) => run.loadGeneratorBound).length;
    console.log(
      `| ${scenario.label} | ${Math.round(of('requestsPerSecond'))} | ${of('p50ms').toFixed(2)} | ${of('p99ms').toFixed(2)} | ` +
        `${of('serverCpuUs').toFixed(1)} | ${ratioCell(scenario, runs)} | ${cpuRatioCell(runs)} | ${errors} | ${loadBound === 0 ? 'no' : `${loadBound} of ${runs.length} runs`} |`,
    );
  }
}

/** The median of the per-round ratios of a row to its ceiling, their range, and how they were taken. */
function ratioCell(scenario, runs) {
  const ceilingRuns = rounds.get(scenario.ceiling);
  const paired = runs[0].pairedCeiling !== undefined;
  if (!paired && ceilingRuns === undefined) return '';
  const ratios = runs.map((run, i) => run.requestsPerSecond / (paired ? run.pairedCeiling : ceilingRuns[i]).requestsPerSecond);
  const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  return `${median(ratios).toFixed(2)}x (${range}${paired ? ', paired' : ''})`;
}

/**
 * Paired rows only: the ceiling's server CPU per request over the row's. Unlike req/s it does not
 * depend on the load generator keeping up, which it barely does with the fastest servers.
 */
function cpuRatioCell(runs) {
  if (runs[0].pairedCeiling === undefined) return '';
  return `${median(runs.map((run) => run.pairedCeiling.serverCpuUs / run.serverCpuUs)).toFixed(2)}x`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
