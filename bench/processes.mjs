// Starting what run.mjs measures: servers pinned to CPU 0 (several spread over every CPU but the
// load generator's; all on CPU 0 on a 2-CPU machine), load and client scripts pinned to CPU 1,
// each server's CPU time from /proc, and the Python interpreter that can run Python arrpc.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const CLOCK_TICKS_PER_SECOND = 100;
export const LOAD_CPU = 1;
/** CPUs servers are pinned to, in turn: every one but the load generator's. */
export const SERVER_CPUS = Array.from({ length: availableParallelism() }, (_, cpu) => cpu).filter((cpu) => cpu !== LOAD_CPU);
const here = new URL('.', import.meta.url).pathname;

/**
 * Starts `scenario.server` (a Node script, or a Python one run with `python`) pinned to `cpu`;
 * resolves once it printed its port. The caller kills `process`.
 */
export function startServer(scenario, { cpu = SERVER_CPUS[0], certs, python }) {
  const env = { ...process.env, ...scenario.env, BENCH_TLS_CERT: scenario.tls ? certs.cert : '', BENCH_TLS_KEY: certs.key };
  const isPython = scenario.server.endsWith('.py');
  if (isPython) Object.assign(env, python.env);
  const command = [isPython ? python.bin : 'node', join(here, scenario.server)];
  const child = spawn('taskset', ['-c', String(cpu), ...command], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${scenario.server} exited with ${code}`)));
    child.stdout.once('data', (line) => resolve({ process: child, pid: child.pid, port: JSON.parse(String(line)).port }));
  });
}

/** Runs a bench script to its end on the load generator's CPU; its one JSON line, parsed. */
export function runPinned(script, args) {
  return JSON.parse(execFileSync('taskset', ['-c', String(LOAD_CPU), 'node', join(here, script), ...args], { encoding: 'utf8' }));
}

/** utime + stime of server processes, from /proc (Linux). */
export function cpuSeconds(servers) {
  return servers.reduce((sum, { pid }) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }, 0);
}

export function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'arrpc-bench-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

/**
 * The interpreter and PYTHONPATH that import Python arrpc from `dir` (its source, as unpacked from
 * its sdist, or any folder holding the `arrpc` package): `{ bin, env, version }`, or `{ skipped }`
 * saying why the Python rows cannot run. gevent and msgpack must be importable by `bin`.
 */
export function findPython({ dir, bin }) {
  if (!dir) return { skipped: 'no --python <dir> (or ARRPC_BENCH_PYTHONPATH) names Python arrpc’s source' };
  const env = { PYTHONPATH: dir };
  try {
    const version = execFileSync(bin, ['-c', 'import arrpc.version; print(arrpc.version.version)'], {
      env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    return { bin, env, version };
  } catch (error) {
    const reason = String(error.stderr ?? '').trim().split('\n').at(-1) || error.message;
    return { skipped: `${bin} cannot import arrpc from ${dir}: ${reason}` };
  }
}
