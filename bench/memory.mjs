// The two memory targets of the benchmark issue, each against a server process of its own
// (servers/arrpc-memory.mjs, which reports process.memoryUsage() on request):
// 1. 10,000 idle connections, each set up by one answered request, cost under 60 MB of server RSS
//    (read after a forced GC);
// 2. after 400 requests of 1 MiB, heapUsed + arrayBuffers after a forced GC is within 20 MB of
//    where it started.
// Prints a Markdown table and "met" or "not met" per target; exits non-zero only when the
// measurement itself fails. Usage: node memory.mjs
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { MessageDecoder, MessageEncoder } from '../dist/lib/index.js';
import { SMALL } from './messages.mjs';
import { sleep } from './report.mjs';

const IDLE_CONNECTIONS = 10_000;
const CONNECT_BATCH = 250;
const LARGE_CONNECTIONS = 8;
const LARGE_REQUESTS_PER_CONNECTION = 50;
const LARGE_PAYLOAD_BYTES = 1024 * 1024;
// Decimal megabytes: the stricter reading of the "MB".
const MB = 1e6;
// Both ends hold one descriptor per connection, far past the usual default of 1024.
const FD_LIMIT = IDLE_CONNECTIONS + 2_000;
const here = new URL('.', import.meta.url).pathname;
const encoder = new MessageEncoder();
const smallRequest = encoder.encode(SMALL);

if (openFilesLimit() < FD_LIMIT) {
  const [command, args] = underFdLimit([process.execPath, ...process.argv.slice(1)]);
  process.exit(spawnSync(command, args, { stdio: 'inherit' }).status ?? 1);
}
// A hung server or socket fails the run instead of blocking it; servers exit with our stdin pipe.
setTimeout(() => {
  console.error('memory.mjs: no result after 120 s');
  process.exit(1);
}, 120_000).unref();

const idle = await measureIdleConnections();
const large = await measureLargeMessages();
const idleRss = idle.after.rss - idle.before.rss;
const largeHeap = heapAndBuffers(large.after) - heapAndBuffers(large.before);
const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
console.log(`Node ${process.version}, one server process per target, loopback\n`);
console.log('| measurement | start | end | difference | target | result |');
console.log('|---|---|---|---|---|---|');
console.log(
  `| ${IDLE_CONNECTIONS} idle connections: server RSS | ${mb(idle.before.rss)} | ${mb(idle.after.rss)} | ` +
    `${mb(idleRss)} (${(idleRss / IDLE_CONNECTIONS / 1024).toFixed(1)} KiB each) | < 60 MB | ${idleRss < 60 * MB ? 'met' : 'not met'} |`,
);
console.log(`| same: heapUsed after gc() | ${mb(idle.before.heapUsed)} | ${mb(idle.after.heapUsed)} | ${mb(idle.after.heapUsed - idle.before.heapUsed)} | | |`);
console.log(
  `| ${LARGE_CONNECTIONS * LARGE_REQUESTS_PER_CONNECTION} requests of 1 MiB: heapUsed + arrayBuffers after gc() | ` +
    `${mb(heapAndBuffers(large.before))} | ${mb(heapAndBuffers(large.after))} | ${mb(largeHeap)} | within 20 MB | ${Math.abs(largeHeap) <= 20 * MB ? 'met' : 'not met'} |`,
);
console.log(`| same: RSS after gc() | ${mb(large.before.rss)} | ${mb(large.after.rss)} | ${mb(large.after.rss - large.before.rss)} | | |`);

async function measureIdleConnections() {
  const server = await startServer({ BENCH_MAX_CONNECTIONS: String(IDLE_CONNECTIONS + 100), BENCH_IDLE_TIMEOUT_MS: '0' });
  const clients = [];
  try {
    // One request served, so the baseline includes the first connection's one-time setup.
    const probe = await open(server.port, clients);
    expectSmall(await probe.ask(smallRequest));
    probe.socket.destroy();
    await sleep(1000);
    // Garbage is not what a connection costs: both readings follow a full GC.
    const before = await server.memory();
    for (let opened = 0; opened < IDLE_CONNECTIONS; opened += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, IDLE_CONNECTIONS - opened);
      await Promise.all(Array.from({ length: batch }, async () => {
        const client = await open(server.port, clients);
        expectSmall(await client.ask(smallRequest));
      }));
    }
    await sleep(2000);
    const after = await server.memory();
    const closed = clients.filter((client) => client !== probe && client.socket.readyState !== 'open').length;
    if (closed > 0) throw new Error(`${closed} idle connections were closed before the measurement`);
    return { before, after };
  } finally {
    for (const client of clients) client.socket.destroy();
    await server.close();
  }
}

async function measureLargeMessages() {
  const server = await startServer({});
  const clients = [];
  try {
    const warm = await open(server.port, clients);
    expectSmall(await warm.ask(smallRequest));
    warm.socket.end();
    await sleep(500);
    const before = await server.memory();
    const request = encoder.encode({ ...SMALL, blob: Buffer.alloc(LARGE_PAYLOAD_BYTES, 7) });
    await Promise.all(Array.from({ length: LARGE_CONNECTIONS }, async () => {
      const client = await open(server.port, clients);
      for (let i = 0; i < LARGE_REQUESTS_PER_CONNECTION; i++) {
        const answer = await client.ask(request);
        if (answer?.blob?.length !== LARGE_PAYLOAD_BYTES) throw new Error(`answer without the ${LARGE_PAYLOAD_BYTES}-byte payload`);
      }
      // Closed on both sides before the reading: an open connection's buffers are not a leak.
      client.socket.end();
      await once(client.socket, 'close');
    }));
    await sleep(1000);
    return { before, after: await server.memory() };
  } finally {
    for (const client of clients) client.socket.destroy();
    await server.close();
  }
}

/** The server under a raised descriptor limit; `memory()` reads its memoryUsage() and VmRSS after a full GC. */
async function startServer(env) {
  const [command, args] = underFdLimit([process.execPath, '--expose-gc', `${here}servers/arrpc-memory.mjs`]);
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the server exited');
    return JSON.parse(value);
  };
  const { port } = await nextLine();
  return {
    port,
    async memory() {
      child.stdin.write('\n');
      const usage = await nextLine();
      // `exec` in underFdLimit makes the shell's pid the server's.
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return { ...usage, rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024 };
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

/** A connection to the server, added to `clients`; `ask()` sends one request and resolves with its answer. */
async function open(port, clients) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const client = { socket, ask: undefined };
  clients.push(client);
  const decoder = new MessageDecoder();
  let pending;
  socket.on('data', (chunk) => decoder.write(chunk, (value) => pending?.resolve(value)));
  socket.on('error', (error) => pending?.reject(error));
  socket.on('close', () => pending?.reject(new Error('connection closed before its answer')));
  client.ask = (request) => new Promise((resolve, reject) => {
    pending = { resolve, reject };
    socket.write(request);
  });
  return client;
}

function expectSmall(answer) {
  if (answer?.foo !== SMALL.foo || answer?.n !== SMALL.n) throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
}

function heapAndBuffers(usage) {
  return usage.heapUsed + usage.arrayBuffers;
}

/** `argv` as a command run under `ulimit -n FD_LIMIT`. */
function underFdLimit(argv) {
  return ['sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'sh', ...argv]];
}

/** This process's soft limit of open files, from /proc (Linux). */
function openFilesLimit() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
  return Number(line.split(/\s+/)[3]);
}
