// An arrpc load generator that speaks the wire protocol itself, so it can load any arrpc server,
// a Python one included: `node load.mjs --target host:port`. With `--protocol nest-tcp` it loads
// a Nest TCP transport server's 'echo' pattern instead. Prints one JSON line of results.
//
// `--target a:1,b:2` loads several servers in turn, `--slice-ms` each, over the same window, and
// prints one result per server: on a shared machine whose speed drifts over seconds, a ratio taken
// this way compares the servers under the same conditions, which back-to-back runs do not.
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { MessageDecoder, MessageEncoder, signMessage } from '../dist/lib/index.js';
import { MESSAGES } from './messages.mjs';
import { isNestTcpError, NestTcpDecoder, nestTcpRequest } from './nest-tcp-wire.mjs';
import { sleep, summarize } from './report.mjs';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: '127.0.0.1:4000' },
    'slice-ms': { type: 'string', default: '500' },
    connections: { type: 'string', default: '64' },
    pipeline: { type: 'string', default: '1' },
    message: { type: 'string', default: 'small' },
    protocol: { type: 'string', default: 'arrpc' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    secret: { type: 'string' },
    tls: { type: 'boolean', default: false },
  },
});

const connections = Number(args.connections);
const pipeline = Number(args.pipeline);
const { request, createDecoder, isError } = wireFor(args.protocol);

let measuring = false;
let stopped = false;

/** One server under load: its connections, and what was measured while it was the active one. */
class Target {
  active = false;
  answered = 0;
  errors = 0;
  latenciesNs = [];
  activeNs = 0n;
  /** Sends held back while another target is active. */
  parked = [];

  constructor(address) {
    const [host, port] = address.split(':');
    this.options = { host, port: Number(port) };
  }

  open() {
    return new Promise((resolve, reject) => {
      const socket = args.tls
        ? tls.connect({ ...this.options, rejectUnauthorized: false }, () => resolve(socket))
        : net.connect(this.options, () => resolve(socket));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  /** Keeps `pipeline` requests in flight on one connection while this target is active. */
  drive(socket) {
    const decoder = createDecoder();
    const sentAt = [];
    // performance.now(), not hrtime.bigint(): no BigInt per request on the generator's busy core.
    const send = () => {
      sentAt.push(performance.now());
      socket.write(request);
    };
    socket.on('data', (chunk) => {
      decoder.write(chunk, (value) => {
        const started = sentAt.shift();
        if (measuring && this.active) {
          this.answered++;
          this.latenciesNs.push((performance.now() - started) * 1e6);
          if (isError(value)) this.errors++;
        }
        if (stopped) return;
        if (this.active) send();
        else this.parked.push(send);
      });
    });
    socket.on('error', () => this.errors++);
    for (let i = 0; i < pipeline; i++) this.parked.push(send);
  }

  activate() {
    this.active = true;
    for (const send of this.parked.splice(0)) send();
  }
}

function wireFor(protocol) {
  if (protocol === 'nest-tcp') {
    if (args.secret) throw new Error('--secret is arrpc auth; Nest TCP has none');
    return { request: nestTcpRequest(MESSAGES[args.message]), createDecoder: () => new NestTcpDecoder(), isError: isNestTcpError };
  }
  if (protocol !== 'arrpc') throw new Error(`unknown --protocol ${protocol}: arrpc or nest-tcp`);
  const encoder = new MessageEncoder();
  const inner = encoder.encode(MESSAGES[args.message]);
  return {
    request: args.secret ? signMessage(encoder, inner, args.secret) : inner,
    createDecoder: () => new MessageDecoder(),
    isError: (value) => typeof value === 'string' && value.startsWith('arrpc.error.'),
  };
}

const targets = args.target.split(',').map((address) => new Target(address));
const sockets = [];
for (const target of targets) {
  const opened = await Promise.all(Array.from({ length: connections }, () => target.open()));
  opened.forEach((socket) => target.drive(socket));
  sockets.push(...opened);
}

/** Hands the load to the next target every slice; with one target it stays active throughout. */
let current = 0;
let sliceStarted = process.hrtime.bigint();
targets[0].activate();
const rotation = targets.length > 1 ? setInterval(rotate, Number(args['slice-ms'])) : undefined;
function rotate() {
  const now = process.hrtime.bigint();
  const target = targets[current];
  if (measuring) target.activeNs += now - sliceStarted;
  target.active = false;
  sliceStarted = now;
  current = (current + 1) % targets.length;
  targets[current].activate();
}

await sleep(Number(args.warmup) * 1000);
measuring = true;
sliceStarted = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
await sleep(Number(args.duration) * 1000);
targets[current].activeNs += process.hrtime.bigint() - sliceStarted;
measuring = false;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
stopped = true;
clearInterval(rotation);
sockets.forEach((socket) => socket.destroy());

const results = targets.map((target) =>
  summarize({
    ...target,
    seconds: Number(target.activeNs) / 1e9,
    cpu,
    cpuSeconds: seconds,
    requestBytes: request.length,
  }),
);
console.log(JSON.stringify(targets.length === 1 ? results[0] : { targets: results }));
