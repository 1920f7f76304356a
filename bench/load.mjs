// An arrpc load generator that speaks the wire protocol itself, so it can load any arrpc server,
// a Python one included: `node load.mjs --target host:port`. Prints one JSON line of results.
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { MessageDecoder, MessageEncoder, signMessage } from '../dist/lib/index.js';
import { MESSAGES } from './messages.mjs';
import { sleep, summarize } from './report.mjs';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: '127.0.0.1:4000' },
    connections: { type: 'string', default: '64' },
    pipeline: { type: 'string', default: '1' },
    message: { type: 'string', default: 'small' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    secret: { type: 'string' },
    tls: { type: 'boolean', default: false },
    'tls-ca': { type: 'string' },
  },
});

const [host, portText] = args.target.split(':');
const connections = Number(args.connections);
const pipeline = Number(args.pipeline);
const encoder = new MessageEncoder();
const inner = encoder.encode(MESSAGES[args.message]);
const request = args.secret ? signMessage(encoder, inner, args.secret) : inner;

let measuring = false;
let stopped = false;
let answered = 0;
let errors = 0;
const latenciesNs = [];

function open() {
  return new Promise((resolve, reject) => {
    const options = { host, port: Number(portText) };
    const socket = args.tls
      ? tls.connect({ ...options, rejectUnauthorized: false }, () => resolve(socket))
      : net.connect(options, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });
}

/** Keeps `pipeline` requests in flight on one connection until stopped. */
function drive(socket) {
  const decoder = new MessageDecoder();
  const sentAt = [];
  const send = () => {
    sentAt.push(process.hrtime.bigint());
    socket.write(request);
  };
  socket.on('data', (chunk) => {
    decoder.write(chunk, (value) => {
      const started = sentAt.shift();
      if (measuring) {
        answered++;
        latenciesNs.push(Number(process.hrtime.bigint() - started));
        if (typeof value === 'string' && value.startsWith('arrpc.error.')) errors++;
      }
      if (!stopped) send();
    });
  });
  socket.on('error', () => errors++);
  for (let i = 0; i < pipeline; i++) send();
}

const sockets = await Promise.all(Array.from({ length: connections }, open));
sockets.forEach(drive);
await sleep(Number(args.warmup) * 1000);
measuring = true;
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
await sleep(Number(args.duration) * 1000);
measuring = false;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
stopped = true;
sockets.forEach((socket) => socket.destroy());

console.log(JSON.stringify(summarize({ latenciesNs, answered, errors, seconds, cpu, requestBytes: request.length })));
