// The clients burst.mjs and slow-call.mjs compare, each with its default options: ArrpcClient as a
// user would construct it (toward a Python peer by default), ArrpcClient told its peer is an
// ArrpcServer, and Nest's own ClientTCP toward Nest's TCP server. Addresses are 'host:port'.
import { ClientTCP } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { ARRPC_DEFAULT_PATTERN, ArrpcClient } from '../dist/lib/index.js';
import { median } from './report.mjs';

/** `arrpc` and `nestTcp` are required; `python` (a Python arrpc server) adds a row when given. */
export async function openClients({ arrpc, nestTcp, python }) {
  const clients = [
    { name: 'arrpc', label: 'ArrpcClient, default options → ArrpcServer', client: new ArrpcClient(at(arrpc)), pattern: ARRPC_DEFAULT_PATTERN },
    {
      name: 'arrpc-nestjs-peer', label: "ArrpcClient, peer 'nestjs-arrpc' → ArrpcServer",
      client: new ArrpcClient({ ...at(arrpc), peer: 'nestjs-arrpc' }), pattern: ARRPC_DEFAULT_PATTERN,
    },
    { name: 'client-tcp', label: 'Nest ClientTCP, default options → Nest TCP server', client: new ClientTCP(at(nestTcp)), pattern: 'echo' },
  ];
  if (python) {
    clients.push({ name: 'python', label: 'ArrpcClient, default options → Python arrpc', client: new ArrpcClient(at(python)), pattern: ARRPC_DEFAULT_PATTERN });
  }
  await Promise.all(clients.map(({ client }) => client.connect()));
  return clients;
}

/**
 * Times `measure(client)` (milliseconds) for each client in turn, `warmup` rounds untimed then
 * `repeats` timed, so that every client sees the same host over the run; then closes the clients.
 * One row per client: the median and range of its timings.
 */
export async function timeInTurns(clients, { warmup, repeats }, measure) {
  const timings = new Map(clients.map((client) => [client, []]));
  try {
    for (let i = 0; i < warmup; i++) for (const client of clients) await measure(client);
    for (let i = 0; i < repeats; i++) for (const client of clients) timings.get(client).push(await measure(client));
  } finally {
    await Promise.all(clients.map(({ client }) => client.close()));
  }
  return clients.map((client) => {
    const ms = timings.get(client);
    return { name: client.name, label: client.label, ms: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), repeats: ms.length };
  });
}

/** One call through `send()`, as a Nest app makes it: resolves with the answer. */
export function call({ client, pattern }, message) {
  return lastValueFrom(client.send(pattern, message));
}

function at(address) {
  const [host, port] = address.split(':');
  return { host, port: Number(port) };
}
