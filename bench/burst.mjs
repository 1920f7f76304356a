// 1,000 concurrent send() through one client with its default options: the time from the first send
// to the last answer, for each client of clients.mjs in turn, a few bursts each after a warm-up;
// the median per client. The clients stay open between bursts, as an app's would.
// Prints one JSON line for run.mjs.
// Usage: node burst.mjs --arrpc host:port --nest-tcp host:port [--concurrency 1000] [--repeats 9] [--warmup 2]
import { parseArgs } from 'node:util';
import { call, openClients, timeInTurns } from './clients.mjs';
import { SMALL } from './messages.mjs';

const { values: args } = parseArgs({
  options: {
    arrpc: { type: 'string' },
    'nest-tcp': { type: 'string' },
    concurrency: { type: 'string', default: '1000' },
    repeats: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
  },
});
const concurrency = Number(args.concurrency);

/** Milliseconds from the first send to the last answer. */
async function burst(client) {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: concurrency }, () => call(client, SMALL)));
  const elapsed = performance.now() - started;
  if (answers.some((answer) => answer?.n !== SMALL.n)) throw new Error(`${client.name}: an answer is not the echo`);
  return elapsed;
}

const clients = await openClients({ arrpc: args.arrpc, nestTcp: args['nest-tcp'] });
const rows = await timeInTurns(clients, { warmup: Number(args.warmup), repeats: Number(args.repeats) }, burst);
console.log(JSON.stringify({ concurrency, rows }));
