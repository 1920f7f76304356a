// Runs every scenario of the benchmark issues: the load generator pinned to CPU 1, each server to
// CPU 0 (processes.mjs), a warm-up, then a fixed window, once per round; then the rows measured once
// (scenarios.mjs's ONCE: the record decode, the 1,000-call burst, the fast call behind a slow one);
// then the targets of issue 19 computed from all of it (targets.mjs).
//
// A row whose ceiling takes the same load (same message, TLS, secret, connections) is measured
// paired with it: both servers run at once and load.mjs loads them in turn, half a second each,
// over one window, so the ratio compares them under the same conditions. On a shared machine
// whose speed drifts by half within a minute, back-to-back runs do not. Ceilings also run alone
// for their own row; other rows run alone.
//
// Python arrpc's rows run when `--python <dir>` (or ARRPC_BENCH_PYTHONPATH) names its source and
// `--python-bin` (or ARRPC_BENCH_PYTHON, default python3) imports it with gevent and msgpack;
// otherwise one line says why they were skipped.
//
// Prints Markdown tables for BENCHMARKS.md: medians over the rounds, and each ratio as the median
// of the per-round ratios, with their range.
// Usage: node run.mjs [--runs 3] [--duration 5] [--warmup 2] [--only name,name] [--python dir] [--python-bin exe]
import { parseArgs } from 'node:util';
import { printOnceRows, runOnceRows } from './once-rows.mjs';
import { cpuSeconds, findPython, makeCertificate, runPinned, SERVER_CPUS, startServer } from './processes.mjs';
import { median } from './report.mjs';
import { ONCE, SCENARIOS } from './scenarios.mjs';
import { printTargets } from './targets.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
    python: { type: 'string', default: process.env.ARRPC_BENCH_PYTHONPATH },
    'python-bin': { type: 'string', default: process.env.ARRPC_BENCH_PYTHON ?? 'python3' },
  },
});
const python = findPython({ dir: args.python, bin: args['python-bin'] });
const context = { certs: makeCertificate(), python };
const byName = new Map(SCENARIOS.map((scenario) => [scenario.name, scenario]));
const chosen = (scenario) => !args.only || args.only.split(',').includes(scenario.name);
const needsPython = (scenario) => scenario.server.endsWith('.py');
const selected = SCENARIOS.filter((scenario) => chosen(scenario) && !(python.skipped && needsPython(scenario)));

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
const onceSelected = ONCE.filter(chosen);
const once = await runOnceRows(onceSelected, context);

console.log(python.skipped ? `Python arrpc rows skipped: ${python.skipped}.` : `Python arrpc ${python.version} from ${args.python} (${python.bin}).`);
if (selected.length > 0) printTable(selected, rounds);
printOnceRows(onceSelected, once);
printTargets(rounds, once);

/** Same load for both: raw generator, same message, protocol, TLS, secret and concurrency. */
function pairable(row, ceiling) {
  const load = (s) => [s.load, s.message, s.protocol, s.tls, s.env?.BENCH_SECRET, s.connections, s.pipeline, s.servers].join('|');
  return !row.load && load(row) === load(ceiling);
}

async function runAlone(scenario) {
  const servers = await Promise.all(
    Array.from({ length: scenario.servers ?? 1 }, (_, i) => startServer(scenario, { ...context, cpu: SERVER_CPUS[i % SERVER_CPUS.length] })),
  );
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
  const servers = [];
  try {
    // One after the other, inside the try: a server that fails to start leaves none running.
    for (const scenario of [row, ceiling]) servers.push(await startServer(scenario, context));
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

/** Loads every port given: with two, load.mjs takes turns between them and answers per target. */
function runLoad(scenario, ports) {
  if (scenario.load === 'client-load.mjs') return runClientLoad(scenario, ports);
  return runPinned('load.mjs', [
    '--target', ports.map((port) => `127.0.0.1:${port}`).join(','),
    '--connections', String(scenario.connections ?? 64), '--pipeline', String(scenario.pipeline ?? 1),
    '--message', scenario.message, '--duration', args.duration, '--warmup', args.warmup,
    ...(scenario.env?.BENCH_SECRET ? ['--secret', scenario.env.BENCH_SECRET] : []),
    ...(scenario.tls ? ['--tls'] : []),
    ...(scenario.protocol ? ['--protocol', scenario.protocol] : []),
  ]);
}

/** Load through one ArrpcClient spread over every server of the scenario (client-load.mjs). */
function runClientLoad(scenario, ports) {
  return runPinned('client-load.mjs', [
    '--targets', ports.map((port) => `127.0.0.1:${port}`).join(','),
    '--concurrency', String(scenario.connections ?? 64), '--pool-size', String(scenario.poolSize ?? 8),
    '--pipeline', String(scenario.pipeline ?? 4), '--message', scenario.message, '--duration', args.duration, '--warmup', args.warmup,
  ]);
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
