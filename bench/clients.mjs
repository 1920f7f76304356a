// The clients burst.mjs and slow-call.mjs compare, each with its default options: ArrpcClient as a
// user would construct it (toward a Python peer by default), ArrpcClient told its peer is an
// ArrpcServer, and Nest's own ClientTCP toward Nest's TCP server. Addresses are 'host:port'.
import { ClientTCP } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { ARRPC_DEFAULT_PATTERN, ArrpcClient } from '../dist/lib/index.js';

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

export async function closeClients(clients) {
  await Promise.all(clients.map(({ client }) => client.close()));
}

/** One call through `send()`, as a Nest app makes it: resolves with the answer. */
export function call({ client, pattern }, message) {
  return lastValueFrom(client.send(pattern, message));
}

/** A row of the JSON line both scripts print: the median and range of one client's timings. */
export function row({ name, label }, timingsMs, median) {
  return { name, label, ms: median(timingsMs), minMs: Math.min(...timingsMs), maxMs: Math.max(...timingsMs), repeats: timingsMs.length };
}

function at(address) {
  const [host, port] = address.split(':');
  return { host, port: Number(port) };
}
