// Load through ArrpcClient itself (the built library), spread over several servers:
// `node client-load.mjs --targets host:port,host:port`. Unlike load.mjs, which speaks the wire
// protocol by hand to measure a server, this measures the client's balancing path too: picker,
// per-endpoint queues, connection pool. Prints one JSON line of results, as load.mjs does.
import { parseArgs } from 'node:util';
import { ARRPC_DEFAULT_PATTERN, ArrpcClient, MessageEncoder } from '../dist/lib/index.js';
import { MESSAGES } from './messages.mjs';
import { sleep, summarize } from './report.mjs';

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '127.0.0.1:4000' },
    // Calls in flight at once, over all servers.
    concurrency: { type: 'string', default: '64' },
    'pool-size': { type: 'string', default: '8' },
    pipeline: { type: 'string', default: '4' },
    balance: { type: 'string', default: 'p2c' },
    message: { type: 'string', default: 'small' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
  },
});

const endpoints = args.targets.split(',');
const message = MESSAGES[args.message];
const client = new ArrpcClient({
  endpoints,
  peer: 'nestjs-arrpc',
  poolSize: Number(args['pool-size']),
  pipeline: Number(args.pipeline),
  balance: args.balance,
  timeout: 10_000,
});
await client.connect();

let measuring = false;
let stopped = false;
let answered = 0;
let errors = 0;
const latenciesNs = [];

async function worker() {
  while (!stopped) {
    const started = process.hrtime.bigint();
    try {
      await client.call(ARRPC_DEFAULT_PATTERN, message);
      if (measuring) {
        answered++;
        latenciesNs.push(Number(process.hrtime.bigint() - started));
      }
    } catch {
      if (measuring) errors++;
    }
  }
}

const workers = Array.from({ length: Number(args.concurrency) }, worker);
await sleep(Number(args.warmup) * 1000);
measuring = true;
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
await sleep(Number(args.duration) * 1000);
measuring = false;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
stopped = true;
await Promise.all(workers);
// How the requests were spread: each endpoint's connections, as the pool saw them at the end.
const connections = Object.fromEntries(client.unwrap().endpoints.map((endpoint) => [endpoint.address, endpoint.connections.length]));
await client.close();

console.log(JSON.stringify({ ...summarize({ latenciesNs, answered, errors, seconds, cpu, requestBytes: new MessageEncoder().encode(message).length }), connections }));
