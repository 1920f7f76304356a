// The "Against the targets" table of issue 19, computed from the run that printed the rows above
// it: `rounds` (per-round results by scenario name) and `once` (ONCE results by name). A target
// whose rows were not run (--only, Python arrpc absent, a failure) says so instead of a verdict.
import { median } from './report.mjs';

const TARGETS = [
  ['transport alone (echo added with `addHandler`), small: CPU per request ≥ 0.9x the Node ceiling’s', (m) => cpuVsCeiling(m, 'arrpc-add-handler', 0.9)],
  ['through `@MessagePattern`, small: CPU per request ≥ 0.75x the ceiling’s', (m) => cpuVsCeiling(m, 'arrpc', 0.75)],
  ['through `@MessagePattern`, small: req/s above Python arrpc’s', (m) => rateVsPython(m, 'arrpc', 'python', (ratio) => ratio > 1)],
  ['through `@MessagePattern`, small: req/s ≥ 2x Nest 12 TCP’s', (m) => rateVs(m, 'arrpc', 'nest-tcp', 2)],
  ['TLS + auth + metrics, small: CPU per request ≥ 0.85x the TLS + HMAC ceiling’s', (m) => cpuVsCeiling(m, 'arrpc-tls', 0.85)],
  ['~1 KiB record: CPU per request ≥ 0.9x the ceiling’s', (m) => cpuVsCeiling(m, 'arrpc-record', 0.9)],
  ['~1 KiB record: req/s ≥ Python arrpc’s', (m) => rateVsPython(m, 'arrpc-record', 'python-record', (ratio) => ratio >= 1)],
  ['`MessageDecoder` on the ~1 KiB record no slower than `Decoder.decode`', recordDecode],
  ['1,000 concurrent `send()`, `ArrpcClient` default options → `ArrpcServer`: within 1.5x of `ClientTCP`', (m) => burst(m, 'arrpc')],
  ['same, `ArrpcClient` with `peer: \'nestjs-arrpc\'`', (m) => burst(m, 'arrpc-nestjs-peer')],
  ['fast call behind a 500 ms call, `ArrpcClient` default options → `ArrpcServer`: < 50 ms', (m) => fastCall(m, 'arrpc')],
  ['same, `ArrpcClient` with `peer: \'nestjs-arrpc\'`', (m) => fastCall(m, 'arrpc-nestjs-peer')],
  ['same, `ArrpcClient` default options → Python arrpc', (m) => fastCall(m, 'python')],
];
const SLOW_CALL_MS = 50;
const BURST_RATIO = 1.5;

export function printTargets(rounds, once) {
  console.log('\n### Against the targets\n');
  console.log('| target | measured | met |\n|---|---|---|');
  for (const [label, measure] of TARGETS) {
    const result = measure({ rounds, once });
    console.log(result ? `| ${label} | ${result.measured} | ${result.met ? 'yes' : '**no**'} |` : `| ${label} | not measured in this run | – |`);
  }
}

/** Paired rows: the ceiling's CPU per request over the row's, median of the rounds. */
function cpuVsCeiling({ rounds }, name, least) {
  const runs = rounds.get(name);
  if (!runs?.[0].pairedCeiling) return undefined;
  const ratio = median(runs.map((run) => run.pairedCeiling.serverCpuUs / run.serverCpuUs));
  const us = (field) => median(runs.map(field)).toFixed(1);
  return { measured: `${ratio.toFixed(2)}x (${us((run) => run.serverCpuUs)} µs against ${us((run) => run.pairedCeiling.serverCpuUs)} µs)`, met: ratio >= least };
}

/**
 * The row's req/s over Python's, each taken as a share of the ceiling it was paired with in the
 * same round (the two were loaded in different windows of a host whose speed drifts).
 */
function rateVsPython({ rounds }, name, python, met) {
  const runs = rounds.get(name);
  const pythonRuns = rounds.get(python);
  if (!runs?.[0].pairedCeiling || !pythonRuns?.[0].pairedCeiling) return undefined;
  const share = (run) => run.requestsPerSecond / run.pairedCeiling.requestsPerSecond;
  const ratio = median(runs.map((run, i) => share(run) / share(pythonRuns[i])));
  const rate = (of) => Math.round(median(of.map((run) => run.requestsPerSecond)));
  return { measured: `${ratio.toFixed(2)}x Python’s, per paired ceiling (${rate(runs)} against ${rate(pythonRuns)} req/s)`, met: met(ratio) };
}

function rateVs({ rounds }, name, other, least) {
  const runs = rounds.get(name);
  const otherRuns = rounds.get(other);
  if (!runs || !otherRuns) return undefined;
  const ratio = median(runs.map((run, i) => run.requestsPerSecond / otherRuns[i].requestsPerSecond));
  return { measured: `${ratio.toFixed(2)}x`, met: ratio >= least };
}

function recordDecode({ once }) {
  const result = once.get('record-decode');
  if (!result || result.failed) return undefined;
  return { measured: `${Math.round(result.oursNs)} ns against ${Math.round(result.libraryNs)} ns (${result.ratio.toFixed(2)}x its time)`, met: result.ratio <= 1 };
}

function burst({ once }, name) {
  const rows = once.get('burst')?.rows;
  const row = rows?.find((r) => r.name === name);
  const clientTcp = rows?.find((r) => r.name === 'client-tcp');
  if (!row || !clientTcp) return undefined;
  const ratio = row.ms / clientTcp.ms;
  return { measured: `${row.ms.toFixed(1)} ms against ${clientTcp.ms.toFixed(1)} ms (${ratio.toFixed(2)}x)`, met: ratio <= BURST_RATIO };
}

function fastCall({ once }, name) {
  const rows = once.get('slow-call')?.rows;
  const row = rows?.find((r) => r.name === name);
  if (!row) return undefined;
  const clientTcp = rows.find((r) => r.name === 'client-tcp');
  return { measured: `${row.ms.toFixed(1)} ms (ClientTCP: ${clientTcp ? `${clientTcp.ms.toFixed(1)} ms` : 'not measured'})`, met: row.ms < SLOW_CALL_MS };
}
