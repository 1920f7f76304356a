// A fast call made while a 500 ms call is in flight on the same client, default options: the fast
// call's latency, for each client of clients.mjs in turn, a few times each after a warm-up; the
// median per client. The servers must run with BENCH_SLOW=1: `{ sleepMs: 500 }` is the slow call.
// Prints one JSON line for run.mjs.
// Usage: node slow-call.mjs --arrpc host:port --nest-tcp host:port [--python host:port] [--repeats 3] [--warmup 1]
import { parseArgs } from 'node:util';
import { call, openClients, timeInTurns } from './clients.mjs';
import { SMALL } from './messages.mjs';
import { sleep } from './report.mjs';

const SLOW_MS = 500;
/** How long after the slow call the fast one is sent: the slow one is on the wire by then. */
const FAST_AFTER_MS = 20;

const { values: args } = parseArgs({
  options: {
    arrpc: { type: 'string' },
    'nest-tcp': { type: 'string' },
    python: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
  },
});

/** Milliseconds the fast call took; resolves once the slow call is answered too. */
async function fastBehindSlow(client) {
  const slow = call(client, { sleepMs: SLOW_MS });
  await sleep(FAST_AFTER_MS);
  const started = performance.now();
  const answer = await call(client, SMALL);
  const elapsed = performance.now() - started;
  if (answer?.n !== SMALL.n) throw new Error(`${client.name}: the fast call's answer is not the echo`);
  if ((await slow)?.sleepMs !== SLOW_MS) throw new Error(`${client.name}: the slow call's answer is not the echo`);
  return elapsed;
}

const clients = await openClients({ arrpc: args.arrpc, nestTcp: args['nest-tcp'], python: args.python });
const rows = await timeInTurns(clients, { warmup: Number(args.warmup), repeats: Number(args.repeats) }, fastBehindSlow);
console.log(JSON.stringify({ slowMs: SLOW_MS, rows }));
